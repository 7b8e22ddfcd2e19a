package workflow

// guard.go keeps Loket from being turned against the people it mails and
// against the tickets it keeps, inside Ingest's transaction:
//
//   - automatic mail to one address is capped per hour as well as per day
//     (Policy.PerRecipientPerHour next to PerRecipientPerDay), so that a mail
//     loop with another automatic responder stops within a few messages;
//   - an address whose mail of ours bounced gets no automatic mail for
//     Policy.BounceQuiet (bucket bounced);
//   - a mail that names a ticket but comes from someone not on that ticket
//     (not the requester, not in To/Cc of its messages, not a sender of its
//     earlier mail, not the desk) is attached and flagged "derde partij":
//     it never changes the ticket's state and never makes Loket send mail
//     (bucket third_party), so that nobody gets at a ticket by guessing its
//     reference (the follow-up hijack other helpdesks suffer).
//
// ingest.go calls autoMailGuardTx before it queues an automatic mail,
// noteBounceTx for every bounce, and thirdPartyTx for every follow-up on a
// known ticket.

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
)

// Guards are the limits on automatic mail beyond Policy.PerRecipientPerDay.
// Policy embeds them.
type Guards struct {
	// PerRecipientPerHour caps automatic mails to one address in an hour;
	// 0 means no hourly cap.
	PerRecipientPerHour int
	// BounceQuiet is how long an address whose mail bounced gets no
	// automatic mail; 0 switches the guard off.
	BounceQuiet time.Duration
}

// Bounced records that mail of ours to an address bounced.
type Bounced struct {
	Address   string    `json:"address"`
	At        time.Time `json:"at"`
	TicketRef string    `json:"ticket_ref,omitempty"`
	MessageID string    `json:"message_id"` // the bounce's
}

// autoMailGuardTx returns why no automatic mail may go to addr at now, or
// "" when it may: the per-hour and per-day caps and the quiet time after a
// bounce. Every automatic mail to a requester checks it: the confirmation
// (confirmTx) and the desk's reminders and notices (holdAutoMail).
func autoMailGuardTx(tx *bolt.Tx, addr string, p *Policy, now time.Time) string {
	addr = strings.ToLower(strings.TrimSpace(addr))
	if len(addr) > maxAddrLen {
		return fmt.Sprintf("adres van %d tekens is te lang", len(addr))
	}
	recent, err := recentAutoSentTx(tx, addr, now)
	if err != nil {
		return "teller automatische mail onleesbaar: " + err.Error()
	}
	if n := p.PerRecipientPerHour; n > 0 {
		c := 0
		for _, at := range recent {
			if now.Sub(at) < time.Hour {
				c++
			}
		}
		if c >= n {
			return fmt.Sprintf("al %d automatische mails aan %s in het afgelopen uur", c, addr)
		}
	}
	if q := p.BounceQuiet; q > 0 {
		var b Bounced
		err := getJSON(tx.Bucket(bucketBounced), []byte(addr), &b)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return "onbestelbaar-register onleesbaar: " + err.Error()
		}
		if err == nil && now.Sub(b.At) < q {
			return fmt.Sprintf("mail aan %s kwam op %s onbestelbaar terug; geen automatische mail tot %s",
				addr, b.At.In(amsterdam).Format("2-1-2006 15:04"), b.At.Add(q).In(amsterdam).Format("2-1-2006 15:04"))
		}
	}
	if n := p.PerRecipientPerDay; n > 0 && len(recent) >= n {
		return fmt.Sprintf("al %d automatische mails aan %s in 24 uur", len(recent), addr)
	}
	return ""
}

// noteBounceTx records the addresses a bounce reports as failed, so that
// autoMailGuardTx keeps automatic mail from them for a while. Only
// addresses Loket actually mailed count: the recipients of the mail of ours
// the bounce returns, the requester of its ticket, or an address that got
// automatic mail in the last 24 hours. A forged bounce can therefore not
// silence an arbitrary address.
func noteBounceTx(tx *bolt.Tx, in Inbound, p *Policy, now time.Time) error {
	if in.Class.Kind != intake.KindBounce || in.Msg == nil {
		return nil
	}
	var mailed []string // what the returned mail of ours went to
	ref := ""
	if id := in.Class.ThreadMessageID; id != "" {
		ids := messageIDsOf(tx)
		if v := ids.get([]byte(id)); v != nil {
			var rec MessageRecord
			if getJSON(tx.Bucket(bucketMessages), v, &rec) == nil && rec.Direction == DirOut && rec.Message != nil {
				ref = rec.TicketRef
				for _, a := range append(append([]intake.Address(nil), rec.Message.To...), rec.Message.Cc...) {
					mailed = append(mailed, strings.ToLower(a.Address))
				}
			}
		}
	}
	if t := threadTicketTx(tx, in.Class); t != nil {
		if ref == "" {
			ref = t.Ref
		}
		if len(mailed) == 0 && t.Requester.Address != "" {
			mailed = append(mailed, strings.ToLower(t.Requester.Address))
		}
	}
	failed := failedRecipients(in.Msg)
	var record []string
	if len(failed) == 0 {
		record = mailed
	}
	for _, a := range failed {
		if containsAddr(mailed, a) {
			record = append(record, a)
			continue
		}
		if recent, err := recentAutoSentTx(tx, a, now); err == nil && len(recent) > 0 {
			record = append(record, a)
		}
	}
	b := tx.Bucket(bucketBounced)
	for _, a := range record {
		if a == "" || len(a) > maxAddrLen || p.isOwn(a) {
			continue
		}
		if err := putJSON(b, []byte(a), Bounced{Address: a, At: now, TicketRef: ref, MessageID: in.Msg.MessageID}); err != nil {
			return fmt.Errorf("record bounce of %s: %w", a, err)
		}
	}
	return nil
}

// failedRecipients returns the addresses of X-Failed-Recipients, lower case.
func failedRecipients(m *intake.Message) []string {
	var out []string
	for _, v := range m.Header["X-Failed-Recipients"] {
		list, err := mail.ParseAddressList(v)
		if err != nil {
			for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
				if a, err := mail.ParseAddress(f); err == nil {
					list = append(list, a)
				}
			}
		}
		for _, a := range list {
			if s := strings.ToLower(a.Address); !containsAddr(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func containsAddr(list []string, a string) bool {
	for _, x := range list {
		if strings.EqualFold(x, a) {
			return true
		}
	}
	return false
}

// thirdPartyTx decides whether in, a follow-up on ticket t, comes from a
// third party. If so it records the message as such, flags the ticket and
// writes the audit entry, and reports true: the caller then leaves the
// ticket's state alone and sends nothing.
func thirdPartyTx(tx *bolt.Tx, t *Ticket, in Inbound, p *Policy, now time.Time) (bool, error) {
	from := strings.ToLower(strings.TrimSpace(in.Msg.From.Address))
	if from != "" && (p.isStaff(from) || onTicketTx(tx, t, from)) {
		return false, nil
	}
	who := from
	if who == "" {
		who = "een onbekende afzender"
	}
	if err := tx.Bucket(bucketThirdParty).Put(thirdPartyKey(in.Msg.MessageID), []byte(t.Ref)); err != nil {
		return false, fmt.Errorf("mark third-party message: %w", err)
	}
	t.Flags = appendOnce(t.Flags, "derde partij: bericht van "+who)
	t.audit(now, "loket", "third-party", "bericht van "+who+", die niet bij dit ticket hoort (derde partij): toegevoegd en gemarkeerd; status ongewijzigd, geen mail verstuurd", in.Msg.Subject)
	return true, nil
}

// isThirdPartyTx reports whether the message with this Message-ID was
// recorded as a third party's.
func isThirdPartyTx(tx *bolt.Tx, messageID string) bool {
	return tx.Bucket(bucketThirdParty).Get(thirdPartyKey(messageID)) != nil
}

// thirdPartyKey keys bucket third_party: a hash, so that a Message-ID of
// any length fits.
func thirdPartyKey(messageID string) []byte {
	h := sha256.Sum256([]byte(messageID))
	return h[:]
}

// onTicketTx reports whether addr takes part in the ticket: its requester,
// or the sender or a recipient (To, Cc) of one of its messages. Auto-replies,
// bounces and third parties' messages do not count: what they name is not
// the conversation.
func onTicketTx(tx *bolt.Tx, t *Ticket, addr string) bool {
	if strings.EqualFold(t.Requester.Address, addr) {
		return true
	}
	msgs := tx.Bucket(bucketMessages)
	for _, m := range t.Messages {
		if m.Direction == DirIn {
			if m.Kind == intake.KindAutoReply || m.Kind == intake.KindBounce || isThirdPartyTx(tx, m.MessageID) {
				continue
			}
			if strings.EqualFold(m.From, addr) {
				return true
			}
		}
		var rec MessageRecord
		if getJSON(msgs, itob(m.Seq), &rec) != nil || rec.Message == nil {
			continue
		}
		for _, a := range rec.Message.To {
			if strings.EqualFold(a.Address, addr) {
				return true
			}
		}
		for _, a := range rec.Message.Cc {
			if strings.EqualFold(a.Address, addr) {
				return true
			}
		}
	}
	return false
}

// Bounds on what a sender controls and Loket uses as a key or copies into
// its own mail. A Message-ID is a bbolt key (at most 32 KiB), and an
// In-Reply-To or References entry goes into the header of our reply (lines
// of at most 998 bytes); an address is a key of the rate limit (RFC 5321
// allows 254 bytes).
const (
	maxIDLen   = 900
	maxAddrLen = 254
)

// boundedInbound returns in with its message's Message-ID, In-Reply-To and
// References held to maxIDLen, so that one hostile message can neither
// fail its own Ingest forever (a key too large: the mailbox would never get
// past it) nor make our reply unsendable. A Message-ID that is too long is
// replaced by one derived from its hash, the same every time the message
// is fetched, so that dedupe still works; longer thread ids are dropped
// (they cannot be ours). Each change is listed in Problems.
func boundedInbound(in Inbound) Inbound {
	m := in.Msg
	if m == nil {
		return in
	}
	tooLong := func(id string) bool { return len(id) > maxIDLen }
	if !tooLong(m.MessageID) && !slices.ContainsFunc(m.InReplyTo, tooLong) && !slices.ContainsFunc(m.References, tooLong) {
		return in
	}
	c := *m
	c.Problems = slices.Clone(m.Problems)
	if tooLong(c.MessageID) {
		sum := sha256.Sum256([]byte(c.MessageID))
		c.Problems = append(c.Problems, fmt.Sprintf("Message-ID of %d bytes replaced by a hash", len(c.MessageID)))
		c.MessageID = fmt.Sprintf("long.%x@loket.invalid", sum[:16])
	}
	for _, list := range []*[]string{&c.InReplyTo, &c.References} {
		if n := len(*list); slices.ContainsFunc(*list, tooLong) {
			*list = slices.DeleteFunc(slices.Clone(*list), tooLong)
			c.Problems = append(c.Problems, fmt.Sprintf("%d over-long thread id(s) left out", n-len(*list)))
		}
	}
	in.Msg = &c
	return in
}
