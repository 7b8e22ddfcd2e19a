package workflow

import "fmt"

// Every automatic mail to a requester besides the confirmation (the timers'
// reminders and closing mail, session mails of a promotion, a cancellation
// by Loket) goes through holdAutoMail in mailRequester, which checks
// autoMailGuardTx; queued, it counts towards the caps.
//
// Mail to the desk's own leaders (their notifications and nudges) is not
// held: the addresses are configured, their automatic answers are never
// answered (an out-of-office of a leader is an auto-reply and is not
// relayed), and a capped notification would leave a request unseen.

// holdAutoMail checks the loop guards for an automatic mail of purpose to
// the ticket's requester. When they hold it back it writes the audit entry
// ("guard") and reports true; the caller then queues nothing.
func (o *op) holdAutoMail(purpose, to string) bool {
	why := autoMailGuardTx(o.tx, to, o.p, o.now)
	if why == "" {
		return false
	}
	o.t.audit(o.now, "loket", "guard", fmt.Sprintf("%s niet verstuurd: tegengehouden door de lusbeveiliging: %s", purpose, why), "")
	return true
}
