package workflow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/templates"
)

// Inbound is a fetched, parsed and classified message ready to be stored.
type Inbound struct {
	Mailbox     string
	UIDValidity uint32
	UID         uint32 // 0 for messages not from IMAP (tests, imports of files)
	Raw         []byte
	Msg         *intake.Message
	Class       intake.Classification
	HeaderOnly  bool
	// Backlog: the message was in the mailbox before Loket first looked
	// (intake.Fetched.Backlog). It is stored and filed, and nothing is
	// mailed for it (backlog.go).
	Backlog bool

	// words are wordList(Msg.Text), msgJSON the JSON of Msg and classJSON
	// that of Class, when worked out before the transaction (HandleBatch
	// does so in parallel); nil means the transaction works them out.
	words     []byte
	msgJSON   []byte
	classJSON []byte
	// parsedRaw: Msg is intake.Parse(Raw), so its HTML can be parsed
	// again from Raw (htmlInRaw). Set by the Service, which parses.
	parsedRaw bool
}

// IngestResult says what Ingest did.
type IngestResult struct {
	Seq       uint64 `json:"seq,omitempty"`
	Skipped   bool   `json:"skipped,omitempty"`   // UID at or below the stored cursor: handled before
	Duplicate bool   `json:"duplicate,omitempty"` // Message-ID stored before (other mailbox, UIDVALIDITY change)
	TicketRef string `json:"ticket_ref,omitempty"`
	NewTicket bool   `json:"new_ticket,omitempty"`
	Unmatched bool   `json:"unmatched,omitempty"`
	OutboxID  uint64 `json:"outbox_id,omitempty"`
	// Queued counts the mails queued besides the confirmation (a leader's
	// answer relayed, a notification to the assigned leader).
	Queued int `json:"queued,omitempty"`
	// NoConfirmation says why a new ticket got no automatic confirmation.
	NoConfirmation string `json:"no_confirmation,omitempty"`
}

// MailboxInfo is what the workflow needs to know of a mailbox.
type MailboxInfo struct {
	Name        string
	Address     string // lower case
	DisplayName string
	Prior       intake.Type
}

// Policy is the configuration Ingest works by.
type Policy struct {
	Prefix    string
	Mailboxes map[string]MailboxInfo
	Templates *templates.Set
	// Confirm enables automatic confirmations.
	Confirm bool
	// PerRecipientPerDay caps automatic mails to one address in 24 hours.
	PerRecipientPerDay int
	// Guards: the hourly cap and the quiet time after a bounce (guard.go).
	Guards
	// OwnAddresses are never mailed automatically (lower case).
	OwnAddresses []string
	Now          Clock
	// Settings configures the desk's work after intake (leaders, sessions,
	// timers); nil for none.
	Settings *Settings
}

func (p *Policy) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Ingest stores one inbound message and everything that follows from it in
// a single transaction: message, raw bytes, Message-ID index, ticket and
// audit, outbox entry and the mailbox cursor. Either all of it is committed
// or none of it.
func (s *Store) Ingest(in Inbound, p *Policy) (IngestResult, error) {
	var res IngestResult
	if in.Msg == nil {
		return res, errors.New("ingest: no parsed message")
	}
	in = boundedInbound(in) // guard.go: no key too large, no header too long
	err := s.db.Update(func(tx *bolt.Tx) error {
		res = IngestResult{}
		return ingestTx(tx, in, p, &res)
	})
	if err != nil {
		return IngestResult{}, fmt.Errorf("ingest %s UID %d <%s>: %w", in.Mailbox, in.UID, in.Msg.MessageID, err)
	}
	return res, nil
}

func ingestTx(tx *bolt.Tx, in Inbound, p *Policy, res *IngestResult) error {
	return ingestCachedTx(tx, in, p, res, nil)
}

// cursorCache holds the cursors a transaction has read or written, so
// that a batch decodes each mailbox's cursor once, not once per message,
// and encodes it once: putTx stores what changed, before the transaction
// commits.
type cursorCache map[string]*cachedCursor

type cachedCursor struct {
	cur     intake.Cursor
	changed bool
	ic      *ingestCache // under txCacheKey only (ingest_cache.go)
}

// putTx stores the cursors and the counters that changed.
func (cc cursorCache) putTx(tx *bolt.Tx) error {
	for mailbox, c := range cc {
		if c.ic != nil {
			if err := c.ic.flushTx(); err != nil {
				return err
			}
			continue
		}
		if c.changed {
			if err := putJSON(tx.Bucket(bucketCursors), []byte(mailbox), c.cur); err != nil {
				return err
			}
			c.changed = false
		}
	}
	return nil
}

// ingestCachedTx is ingestTx with the transaction's cursors in cc (nil:
// read each from the store).
func ingestCachedTx(tx *bolt.Tx, in Inbound, p *Policy, res *IngestResult, cc cursorCache) error {
	now := p.now()
	ic := cc.ingest(tx)
	var err error
	var cur intake.Cursor
	if c := cc[in.Mailbox]; c != nil {
		cur = c.cur
	} else {
		if cur, err = cursorTx(tx, in.Mailbox); err != nil {
			return err
		}
		if cc != nil {
			cc[in.Mailbox] = &cachedCursor{cur: cur}
		}
	}
	if in.UID != 0 && cur.UIDValidity == in.UIDValidity && in.UID <= cur.LastUID {
		res.Skipped = true
		return nil
	}
	advance := func() error {
		if in.UID == 0 {
			return nil
		}
		next := intake.Cursor{UIDValidity: in.UIDValidity, LastUID: in.UID}
		if cur.UIDValidity == in.UIDValidity && cur.LastUID > in.UID {
			next.LastUID = cur.LastUID
		}
		if cur.UIDValidity == in.UIDValidity {
			next.BacklogUntil = cur.BacklogUntil // backlog.go
		}
		if c := cc[in.Mailbox]; c != nil { // stored by cc.putTx
			c.cur, c.changed = next, true
			return nil
		}
		return putJSON(tx.Bucket(bucketCursors), []byte(in.Mailbox), next)
	}

	if v := ic.ids.get([]byte(in.Msg.MessageID)); v != nil {
		res.Duplicate, res.Seq = true, btoi(v)
		var rec MessageRecord
		if err := getJSON(tx.Bucket(bucketMessages), v, &rec); err == nil {
			res.TicketRef = rec.TicketRef
			if rec.Mailbox != in.Mailbox && rec.TicketRef != "" {
				if t, err := ticketTx(tx, rec.TicketRef); err == nil {
					t.audit(now, "loket", "duplicate", fmt.Sprintf("bericht <%s> ook ontvangen in mailbox %s", in.Msg.MessageID, in.Mailbox), "")
					if err := putTicketTx(tx, t); err != nil {
						return err
					}
				}
			}
		}
		return advance()
	}

	class := in.Class
	// rec.Class is set where the record holds it (not ClassInTicket): a
	// copy on the heap, made only then.
	rec := &MessageRecord{Direction: DirIn, Mailbox: in.Mailbox, UIDValidity: in.UIDValidity, UID: in.UID,
		Received: now, Message: in.Msg, HeaderOnly: in.HeaderOnly}
	if in.msgJSON != nil { // the JSON of storedMessage(in): the record takes it as it is
		rec.HTMLInRaw, rec.TextInRaw = bodiesLeft(in)
	} else {
		rec.Message, rec.HTMLInRaw, rec.TextInRaw = storedMessage(in)
	}

	if err := noteBounceTx(tx, in, p, now); err != nil { // guard.go
		return err
	}
	var t *Ticket
	switch class.Kind {
	case intake.KindAutoReply, intake.KindBounce:
		t = threadTicketTx(tx, class)
		if t == nil {
			c := class
			rec.Class = &c
			seq, err := putMessageCachedTx(ic, rec, in.Raw, in.msgJSON, in.classJSON)
			if err != nil {
				return err
			}
			res.Seq, res.Unmatched = seq, true
			if err := tx.Bucket(bucketUnmatched).Put(itob(seq), nil); err != nil {
				return fmt.Errorf("mark unmatched: %w", err)
			}
			return advance()
		}
		what := "automatisch antwoord ontvangen"
		if class.Kind == intake.KindBounce {
			what = "onbestelbaar-melding ontvangen: onze mail aan de aanvrager kwam niet aan"
			t.Bounced = true
			t.Flags = appendOnce(t.Flags, "mail gebounced")
		}
		t.audit(now, "loket", string(class.Kind), what, in.Msg.Subject)

	case intake.KindFollowUp:
		t = threadTicketTx(tx, class)
		if t != nil {
			if third, err := thirdPartyTx(tx, t, in, p, now); err != nil {
				return err
			} else if third {
				break // attached and flagged, nothing else (guard.go)
			}
			t.audit(now, "loket", "follow-up", "vervolgbericht van "+in.Msg.From.Address, in.Msg.Subject)
			if _, ok := transitions[t.Family][t.State][EventRequesterReplied]; ok && !p.isStaff(in.Msg.From.Address) {
				if err := apply(t, EventRequesterReplied, "loket", "", func() time.Time { return now }); err != nil {
					return err
				}
			}
			break
		}
		// A follow-up naming a ticket we do not know becomes a new ticket,
		// with a note so that a person can link it by hand.
		if t, err = newTicketTx(tx, ic, in, p, now); err != nil {
			return err
		}
		note := "verwijst naar een onbekend ticket"
		if class.TicketRef != "" {
			note = "verwijst naar onbekend ticket " + class.TicketRef
		} else if class.ThreadMessageID != "" {
			note = "antwoord op onbekend bericht <" + class.ThreadMessageID + ">"
		}
		t.Flags = appendOnce(t.Flags, note)
		t.audit(now, "loket", "note", note, "")
		res.NewTicket = true

	default: // new
		if t, err = newTicketTx(tx, ic, in, p, now); err != nil {
			return err
		}
		res.NewTicket = true
	}

	rec.TicketRef = t.Ref
	rec.ClassInTicket = res.NewTicket // the ticket holds it (restoreTx)
	if !rec.ClassInTicket {
		c := class
		rec.Class = &c
	}
	seq, err := putMessageCachedTx(ic, rec, in.Raw, in.msgJSON, in.classJSON)
	if err != nil {
		return err
	}
	res.Seq, res.TicketRef = seq, t.Ref
	t.Messages = append(t.Messages, MessageRef{Seq: seq, MessageID: in.Msg.MessageID, Direction: DirIn,
		Kind: class.Kind, From: in.Msg.From.Address, Subject: in.Msg.Subject, Date: in.Msg.Date})
	if in.HeaderOnly {
		t.Flags = appendOnce(t.Flags, fmt.Sprintf("bericht van %d bytes groter dan de limiet: alleen de kop is opgeslagen; lees het in de mailbox", in.Msg.Size))
	}
	if in.Msg.Unparsed {
		t.Flags = appendOnce(t.Flags, "onleesbaar bericht: alleen de ruwe tekst is opgeslagen")
	}

	if in.Backlog {
		// Old mail: filed, nothing sent, nobody notified (backlog.go).
		if res.NewTicket {
			res.NoConfirmation = AuditImported
		}
		t.audit(now, "loket", "imported", AuditImported, in.Msg.Subject)
	} else if res.NewTicket {
		if why := confirmTx(tx, t, in, p, now, res); why != "" {
			res.NoConfirmation = why
			t.audit(now, "loket", "no-confirmation", "geen automatische bevestiging: "+why, "")
		}
		if err := autoAssignTx(tx, t, p, now, res); err != nil {
			return err
		}
	} else if isThirdPartyTx(tx, in.Msg.MessageID) {
		// A third party's mail changes nothing and sends nothing (guard.go).
	} else if err := afterInboundTx(tx, t, in, seq, p, now, res); err != nil {
		return err
	}
	words := in.words
	if words == nil {
		words = wordList(in.Msg.Text)
	}
	if err := putTicketCachedTx(tx, ic, t, &freshWords{seq: seq, list: words}); err != nil {
		return err
	}
	return advance()
}

// newTicketTx creates a ticket for an inbound message with a fresh reference.
func newTicketTx(tx *bolt.Tx, ic *ingestCache, in Inbound, p *Policy, now time.Time) (*Ticket, error) {
	year := now.In(amsterdam).Year()
	n, err := ic.nextCounter(tx, ic.ticketCounter(year))
	if err != nil {
		return nil, err
	}
	ref := intake.FormatTicketRef(p.Prefix, year, int(n))
	typ := in.Class.Type
	if typ == "" {
		typ = intake.TypeOverig
	}
	requester := in.Class.Requester
	if requester.Address == "" {
		requester = in.Msg.From
	}
	mb := p.Mailboxes[in.Mailbox]
	// The ticket and what ingestCachedTx adds to it, in one allocation: its
	// message, and its creation's audit line with two more (imported, or
	// confirmed and assigned).
	nt := new(struct {
		t     Ticket
		msgs  [1]MessageRef
		audit [3]AuditEntry
	})
	t := &nt.t
	*t = Ticket{
		Ref: ref, Mailbox: in.Mailbox, MailboxAddress: mb.Address, Type: typ, Family: FamilyOf(typ),
		State: StateNew, Subject: in.Msg.Subject, Requester: requester, Org: in.Class.Org, Phone: in.Class.Phone,
		Created: now, Classification: in.Class, classJSON: in.classJSON,
		Messages: nt.msgs[:0], Audit: nt.audit[:0],
	}
	t.audit(now, "loket", "created", "ticket aangemaakt uit <"+in.Msg.MessageID+"> in mailbox "+in.Mailbox+", type "+string(typ), "")
	return t, nil
}

// confirmTx queues the automatic confirmation for a new ticket, or returns
// why none may be sent.
func confirmTx(tx *bolt.Tx, t *Ticket, in Inbound, p *Policy, now time.Time, res *IngestResult) string {
	if !p.Confirm {
		return "automatische bevestigingen staan uit"
	}
	if in.Class.Kind != intake.KindNew && in.Class.Kind != intake.KindFollowUp {
		return "geen nieuwe aanvraag"
	}
	if p.isOwn(in.Msg.From.Address) { // forged or looped: never answered, not even at its Reply-To
		return "afzender " + in.Msg.From.Address + " is een eigen adres van Loket"
	}
	to := in.Msg.From
	if len(in.Msg.ReplyTo) == 1 && in.Msg.ReplyTo[0].Address != "" {
		to = in.Msg.ReplyTo[0]
	}
	if why := NoAutoReplyReason(to.Address, in.Msg, p.OwnAddresses); why != "" {
		return why
	}
	if why := autoMailGuardTx(tx, to.Address, p, now); why != "" {
		return why
	}
	mb := p.Mailboxes[in.Mailbox]
	if mb.Address == "" || p.Templates == nil {
		return "mailbox zonder afzenderadres of geen sjablonen"
	}
	name := "confirm-" + string(t.Type)
	if !p.Templates.Has(name) {
		name = "confirm-overig"
	}
	r, err := p.Templates.Render(name, templates.Data{
		Ref: t.Ref, Type: string(t.Type), TypeLabel: templates.TypeLabels[string(t.Type)],
		RequesterName: to.Name, Org: t.Org, Subject: in.Msg.Subject, Received: now,
		MailboxAddress: mb.Address, MailboxName: mb.DisplayName,
	})
	if err != nil {
		return "sjabloon " + name + ": " + err.Error()
	}
	subject := r.Subject
	if !strings.Contains(subject, t.Ref) {
		subject = "[" + t.Ref + "] " + subject
	}
	refs := append([]string(nil), in.Msg.References...)
	refs = append(refs, in.Msg.MessageID)
	if len(refs) > 10 {
		refs = append(refs[:1], refs[len(refs)-9:]...)
	}
	e := &OutboxEntry{
		TicketRef: t.Ref, Purpose: "bevestiging", Automatic: true,
		FromName: mb.DisplayName, From: mb.Address, To: []string{to.Address},
		Subject: subject, Body: r.Body,
		MessageID: newMessageID(t.Ref, mb.Address, now), InReplyTo: in.Msg.MessageID, References: refs,
		ThreadTopic: threadTopic(in.Msg.Subject), ThreadIndex: threadIndex(in.Msg.HeaderValue("Thread-Index"), now),
		Date: now,
	}
	if err := enqueueTx(tx, t, e, now); err != nil {
		return "in wachtrij zetten mislukt: " + err.Error()
	}
	if err := noteAutoSentTx(tx, to.Address, now); err != nil {
		return "teller automatische mail: " + err.Error()
	}
	res.OutboxID = e.ID
	if err := apply(t, EventAcknowledge, "loket", "", func() time.Time { return now }); err != nil {
		return err.Error()
	}
	return ""
}

// NoAutoReplyReason returns why Loket must not send automatic mail to addr
// in answer to m, or "" when it may (RFC 3834 and loop safety).
func NoAutoReplyReason(addr string, m *intake.Message, own []string) string {
	addr = strings.ToLower(strings.TrimSpace(addr))
	if _, err := mail.ParseAddress(addr); err != nil || addr == "" {
		return "geen geldig adres"
	}
	for _, o := range own {
		if addr == strings.ToLower(o) {
			return "adres is een eigen adres van Loket"
		}
	}
	local := addr[:strings.LastIndexByte(addr, '@')]
	for _, bad := range []string{"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "mailer-daemon", "postmaster", "bounce", "bounces", "listserv", "majordomo"} {
		if local == bad || strings.HasPrefix(local, bad+"+") || strings.HasPrefix(local, bad+"-") || (strings.Contains(bad, "reply") && strings.Contains(local, bad)) {
			return "adres " + addr + " neemt geen antwoord aan"
		}
	}
	if m != nil {
		if rp := strings.TrimSpace(m.HeaderValue("Return-Path")); rp == "<>" {
			return "leeg Return-Path (automatisch verstuurd bericht)"
		}
		if as := strings.ToLower(strings.TrimSpace(m.HeaderValue("Auto-Submitted"))); as != "" && !strings.HasPrefix(as, "no") {
			return "bericht is automatisch verstuurd (Auto-Submitted: " + as + ")"
		}
	}
	return ""
}

// threadTicketTx finds the ticket a classified message belongs to: first by
// the Message-ID it answers, then by the reference it names.
func threadTicketTx(tx *bolt.Tx, c intake.Classification) *Ticket {
	if c.ThreadMessageID != "" {
		ids := messageIDsOf(tx)
		if v := ids.get([]byte(c.ThreadMessageID)); v != nil {
			var rec MessageRecord
			if getJSON(tx.Bucket(bucketMessages), v, &rec) == nil && rec.TicketRef != "" {
				if t, err := ticketTx(tx, rec.TicketRef); err == nil {
					return t
				}
			}
		}
	}
	if c.TicketRef != "" {
		if t, err := ticketTx(tx, c.TicketRef); err == nil {
			return t
		}
	}
	return nil
}

// bodiesInRaw reports whether in's HTML body and text are left out of its
// stored record, to be read again from its raw bytes when someone looks at
// them: they are most of a parsed message (an Outlook mail's HTML is three
// times its text) and the raw bytes hold them anyway; a message over bigRaw
// is not parsed again to show it.
func bodiesInRaw(in Inbound) bool {
	return in.parsedRaw && !in.HeaderOnly && len(in.Raw) > 0 && len(in.Raw) <= bigRaw
}

// storedMessage returns the message as its record stores it (without the
// HTML and the text when bodiesInRaw) and whether the HTML and the text
// were left out.
func storedMessage(in Inbound) (m *intake.Message, htmlLeft, textLeft bool) {
	htmlLeft, textLeft = bodiesLeft(in)
	if !htmlLeft && !textLeft {
		return in.Msg, false, false
	}
	c := *in.Msg
	c.HTML, c.Text = "", ""
	return &c, htmlLeft, textLeft
}

// bodiesLeft reports whether in's record leaves out its HTML body and its
// text (storedMessage).
func bodiesLeft(in Inbound) (htmlLeft, textLeft bool) {
	if !bodiesInRaw(in) {
		return false, false
	}
	return in.Msg.HTML != "", in.Msg.Text != ""
}

// restoreTx puts back into rec what its stored form leaves to others: the
// HTML body and the text, parsed again from the raw bytes (gone after a
// purge), and the classification held by the ticket the message made.
func (rec *MessageRecord) restoreTx(tx *bolt.Tx) {
	if (rec.HTMLInRaw || rec.TextInRaw) && rec.Message != nil {
		if raw := rawTx(tx, rec.Seq); raw != nil {
			p := intake.Parse(raw)
			if rec.HTMLInRaw && rec.Message.HTML == "" {
				rec.Message.HTML = p.HTML
			}
			if rec.TextInRaw && rec.Message.Text == "" {
				rec.Message.Text = p.Text
			}
		}
	}
	if rec.ClassInTicket && rec.Class == nil && rec.TicketRef != "" {
		if t, err := ticketTx(tx, rec.TicketRef); err == nil {
			c := t.Classification
			rec.Class = &c
		}
	}
}

// messageTextTx returns the text of the message stored under seq, read
// again from its raw bytes when its record leaves it there (TextInRaw),
// without decoding or restoring the rest of the record.
func messageTextTx(tx *bolt.Tx, seq uint64) (string, error) {
	var rec struct {
		Message *struct {
			Text string `json:"text"`
		} `json:"message"`
		TextInRaw bool `json:"text_in_raw"`
	}
	if err := getJSON(tx.Bucket(bucketMessages), itob(seq), &rec); err != nil || rec.Message == nil {
		return "", err
	}
	if rec.TextInRaw && rec.Message.Text == "" {
		if raw := rawTx(tx, seq); raw != nil {
			return intake.Parse(raw).Text, nil
		}
	}
	return rec.Message.Text, nil
}

// messageTx reads the whole record stored under seq (restoreTx).
func messageTx(tx *bolt.Tx, seq uint64) (*MessageRecord, error) {
	var rec MessageRecord
	if err := getJSON(tx.Bucket(bucketMessages), itob(seq), &rec); err != nil {
		return nil, err
	}
	rec.restoreTx(tx)
	return &rec, nil
}

func putMessageTx(tx *bolt.Tx, rec *MessageRecord, raw []byte) (uint64, error) {
	return putMessageCachedTx(newIngestCache(tx), rec, raw, nil, nil)
}

// putMessageCachedTx is putMessageTx with the buckets in ic, and with
// rec.Message already encoded as msgJSON and its classification as
// classJSON (nil: encode them here).
func putMessageCachedTx(ic *ingestCache, rec *MessageRecord, raw, msgJSON, classJSON []byte) (uint64, error) {
	mb := ic.messages
	mb.FillPercent = sealedFill
	seq, err := mb.NextSequence()
	if err != nil {
		return 0, fmt.Errorf("message sequence: %w", err)
	}
	rec.Seq = seq
	data, err := marshalRecordSlab(ic.slab, rec, msgJSON, classJSON) // message_json.go
	if err != nil {
		return 0, fmt.Errorf("encode message %d: %w", seq, err)
	}
	// bbolt copies keys, not values: also the Message-ID's value.
	key := ic.slab.keep(binary.BigEndian.AppendUint64(ic.slab.buf(8), seq))
	if err := mb.Put(key, data); err != nil {
		return 0, fmt.Errorf("store message %d: %w", seq, err)
	}
	if err := putRaw(ic.raw, key, raw); err != nil {
		return 0, err
	}
	if id := rec.Message.MessageID; id != "" {
		if err := ic.ids.put([]byte(id), key); err != nil {
			return 0, fmt.Errorf("index Message-ID: %w", err)
		}
	}
	return seq, nil
}

// bigRaw: a raw message above this many bytes is stored alone in a bucket
// of its own under its seq, so that no later message appended to the raw
// bucket shares its leaf page: bbolt rewrites a whole leaf when a key is
// added to it, which would copy the big message into memory again (and
// read it back through the mmap) at the next commit.
const bigRaw = 1 << 20

// rawKey is the one key in a big message's own bucket.
var rawKey = []byte("raw")

// putRaw stores a message's raw bytes in the raw bucket rb under key, its
// seq (itob).
func putRaw(rb *bolt.Bucket, key, raw []byte) error {
	rb.FillPercent = sealedFill
	if len(raw) > bigRaw {
		b, err := rb.CreateBucket(key)
		if err == nil {
			err = b.Put(rawKey, raw)
		}
		if err != nil {
			return fmt.Errorf("store raw message: %w", err)
		}
		return nil
	}
	if err := rb.Put(key, raw); err != nil {
		return fmt.Errorf("store raw message: %w", err)
	}
	return nil
}

// rawTx returns the raw bytes stored under seq (valid for the life of the
// transaction), or nil.
func rawTx(tx *bolt.Tx, seq uint64) []byte {
	rb := tx.Bucket(bucketRaw)
	if b := rb.Bucket(itob(seq)); b != nil {
		return b.Get(rawKey)
	}
	return rb.Get(itob(seq))
}

// deleteRawTx deletes the raw bytes stored under seq; it reports whether
// there were any.
func deleteRawTx(tx *bolt.Tx, seq uint64) (bool, error) {
	rb := tx.Bucket(bucketRaw)
	switch {
	case rb.Bucket(itob(seq)) != nil:
		return true, rb.DeleteBucket(itob(seq))
	case rb.Get(itob(seq)) != nil:
		return true, rb.Delete(itob(seq))
	}
	return false, nil
}

func ticketTx(tx *bolt.Tx, ref string) (*Ticket, error) {
	var t Ticket
	if err := getJSON(tx.Bucket(bucketTickets), []byte(ref), &t); err != nil {
		return nil, fmt.Errorf("ticket %s: %w", ref, err)
	}
	return &t, nil
}

func putTicketTx(tx *bolt.Tx, t *Ticket) error { return putTicketFreshTx(tx, t, nil) }

// putTicketFreshTx stores t and its summary; fresh, when not nil, has the
// words of the message the transaction just stored for it.
func putTicketFreshTx(tx *bolt.Tx, t *Ticket, fresh *freshWords) error {
	return putTicketCachedTx(tx, newIngestCache(tx), t, fresh)
}

// putTicketCachedTx is putTicketFreshTx with the buckets in ic.
func putTicketCachedTx(tx *bolt.Tx, ic *ingestCache, t *Ticket, fresh *freshWords) error {
	if err := indexTicketCachedTx(tx, ic, t, fresh); err != nil { // the queue's summary (index.go)
		return err
	}
	b := ic.tickets
	b.FillPercent = appendFill
	data, err := marshalTicketSlab(ic.slab, t) // ticket_json.go
	if err != nil {
		return fmt.Errorf("encode ticket %s: %w", t.Ref, err)
	}
	return b.Put([]byte(t.Ref), data)
}

func cursorTx(tx *bolt.Tx, mailbox string) (intake.Cursor, error) {
	var c intake.Cursor
	if err := getJSON(tx.Bucket(bucketCursors), []byte(mailbox), &c); err != nil && !errors.Is(err, ErrNotFound) {
		return c, fmt.Errorf("cursor of %s: %w", mailbox, err)
	}
	return c, nil
}

func nextCounterTx(tx *bolt.Tx, key string) (uint64, error) {
	b := tx.Bucket(bucketCounters)
	n := btoi(b.Get([]byte(key))) + 1
	if err := b.Put([]byte(key), itob(n)); err != nil {
		return 0, fmt.Errorf("counter %s: %w", key, err)
	}
	return n, nil
}

func recentAutoSentTx(tx *bolt.Tx, addr string, now time.Time) ([]time.Time, error) {
	addr = strings.ToLower(strings.TrimSpace(addr)) // one key however the address is written
	var times []time.Time
	if err := getJSON(tx.Bucket(bucketAutoSent), []byte(addr), &times); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	recent := times[:0]
	for _, t := range times {
		if now.Sub(t) < 24*time.Hour {
			recent = append(recent, t)
		}
	}
	return recent, nil
}

func noteAutoSentTx(tx *bolt.Tx, addr string, now time.Time) error {
	addr = strings.ToLower(strings.TrimSpace(addr))
	recent, err := recentAutoSentTx(tx, addr, now)
	if err != nil {
		return err
	}
	return putJSON(tx.Bucket(bucketAutoSent), []byte(addr), append(recent, now))
}

// amsterdam is the desk's time zone (ticket years, reminders).
var amsterdam = templates.Amsterdam

// appendFill is the fill percentage of buckets whose keys mostly grow
// (sequences, ticket references): pages split full instead of half full,
// which halves their size and the pages each commit writes.
const appendFill = 0.9

// sealedFill is the fill percentage of buckets whose keys grow and whose
// values are written once (raw bytes, message records, the index log):
// nothing is inserted or grows in a full page later, so pages split
// full; at 0.9 a page of 3.7 KB raw messages was three quarters full.
const sealedFill = 1.0
