package workflow

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// autoMailHeldTx returns why the loop guards hold back an automatic mail
// to addr at now, or "" when it may go: the guards of autoMailGuardTx (the
// hourly cap, the quiet time after a bounce) and the per-day cap. The
// confirmation checks the same in confirmTx; every other automatic mail to
// a requester (the timers' reminders and closing mail, session mails of a
// promotion, a cancellation by Loket) checks it in mailRequester, and
// counts towards the caps when it is queued.
//
// Mail to the desk's own leaders (their notifications and nudges) is not
// held: the addresses are configured, their automatic answers are never
// answered (an out-of-office of a leader is an auto-reply and is not
// relayed), and a capped notification would leave a request unseen.
func autoMailHeldTx(tx *bolt.Tx, addr string, p *Policy, now time.Time) string {
	if why := autoMailGuardTx(tx, addr, p, now); why != "" {
		return why
	}
	if n := p.PerRecipientPerDay; n > 0 {
		recent, err := recentAutoSentTx(tx, addr, now)
		if err != nil {
			return "teller automatische mail onleesbaar: " + err.Error()
		}
		if len(recent) >= n {
			return fmt.Sprintf("al %d automatische mails aan %s in 24 uur", len(recent), addr)
		}
	}
	return ""
}

// holdAutoMail checks the loop guards for an automatic mail of purpose to
// the ticket's requester. When they hold it back it writes the audit entry
// ("guard") and reports true; the caller then queues nothing.
func (o *op) holdAutoMail(purpose, to string) bool {
	why := autoMailHeldTx(o.tx, to, o.p, o.now)
	if why == "" {
		return false
	}
	o.t.audit(o.now, "loket", "guard", fmt.Sprintf("%s niet verstuurd: tegengehouden door de lusbeveiliging: %s", purpose, why), "")
	return true
}
