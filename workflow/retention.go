package workflow

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
)

// Personal data under the AVG (GDPR). Three things:
//
//   - PurgeClosed, run daily by serve with [retention] months_after_close:
//     the bodies, raw bytes and attachments of the messages of tickets
//     closed longer ago are removed; the ticket (state, type, dates,
//     requester) stays for the overview. Each purge is in the audit log.
//   - Export: everything held about one address, for a request of access.
//   - Forget: erase one address (tickets anonymised, bodies and raw bytes
//     removed), refused while one of its tickets is open unless forced.
//
// The Message-ID index keeps its entries (Message-ID -> seq), so mail that
// is fetched again is still recognised as handled; it holds no content.

// PurgeResult says what a purge or an erasure did.
type PurgeResult struct {
	Tickets  int      `json:"tickets"`
	Messages int      `json:"messages"`
	Refs     []string `json:"refs,omitempty"`
}

// ErrOpenTickets is returned by Forget when the address has open tickets
// and force is not set.
var ErrOpenTickets = errors.New("address has open tickets")

// removedText replaces what Forget erases.
const removedText = "[verwijderd]"

// closed reports whether a ticket is finished (closed or cancelled).
func (t *Ticket) closed() bool { return t.State == StateClosed || t.State == StateCancelled }

// PurgeClosed removes the mail content of every ticket closed or cancelled
// before before (its last change is taken as the closing time; a ticket
// changed after closing waits longer, never shorter), and of unmatched
// mail received before it. months is named in the audit entry. Tickets
// purged before and unchanged since are skipped.
func (s *Store) PurgeClosed(before time.Time, months int, now time.Time) (PurgeResult, error) {
	var res PurgeResult
	var refs []string
	if err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTickets).ForEach(func(k, _ []byte) error {
			var t struct {
				State   State     `json:"state"`
				Updated time.Time `json:"updated"`
			}
			if err := getJSON(tx.Bucket(bucketTickets), k, &t); err != nil {
				return err
			}
			if (t.State == StateClosed || t.State == StateCancelled) && t.Updated.Before(before) {
				refs = append(refs, string(k))
			}
			return nil
		})
	}); err != nil {
		return res, fmt.Errorf("retention: list closed tickets: %w", err)
	}
	for _, ref := range refs {
		err := s.db.Update(func(tx *bolt.Tx) error {
			t, err := ticketTx(tx, ref)
			if err != nil {
				return err
			}
			n, err := purgeTicketTx(tx, t, false, nil)
			if err != nil || n == 0 {
				return err
			}
			t.audit(now, "loket", "retention-purge", fmt.Sprintf("inhoud, ruwe berichten en bijlagen van %d bericht(en) verwijderd: bewaartermijn van %d maand(en) na sluiten verstreken", n, months), "")
			res.Tickets++
			res.Messages += n
			res.Refs = append(res.Refs, ref)
			return putTicketTx(tx, t)
		})
		if err != nil {
			return res, fmt.Errorf("retention: purge %s: %w", ref, err)
		}
	}
	// Auto-replies and bounces that matched no ticket go by when they came.
	err := s.db.Update(func(tx *bolt.Tx) error {
		var seqs []uint64
		if err := tx.Bucket(bucketUnmatched).ForEach(func(k, _ []byte) error {
			var rec struct {
				Received time.Time `json:"received"`
			}
			if err := getJSON(tx.Bucket(bucketMessages), k, &rec); err == nil && rec.Received.Before(before) {
				seqs = append(seqs, btoi(k))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, seq := range seqs {
			changed, err := purgeMessageTx(tx, seq, false)
			if err != nil {
				return err
			}
			if changed {
				res.Messages++
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("retention: purge unmatched mail: %w", err)
	}
	if res.Tickets > 0 {
		s.dropIndex()
	}
	return res, nil
}

// dropIndex makes the next query rebuild the in-memory index from the
// buckets, so that purged words are no longer found.
func (s *Store) dropIndex() {
	s.idx.mu.Lock()
	s.idx.built = false
	s.idx.mu.Unlock()
}

// purgeTicketTx removes the content of t's messages and returns how many
// messages had content left. anonymise also removes senders, recipients
// and subjects. t itself is changed only in its message list (the caller
// stores it).
func purgeTicketTx(tx *bolt.Tx, t *Ticket, anonymise bool, only func(MessageRef) bool) (int, error) {
	n := 0
	for i := range t.Messages {
		m := &t.Messages[i]
		if only != nil && !only(*m) {
			continue
		}
		changed, err := purgeMessageTx(tx, m.Seq, anonymise)
		if err != nil {
			return n, err
		}
		if m.OutboxID != 0 {
			c, err := purgeOutboxTx(tx, m.OutboxID, anonymise)
			if err != nil {
				return n, err
			}
			changed = changed || c
		}
		if anonymise && (m.From != "" || m.Subject != removedText) {
			m.From, m.Subject = "", removedText
			changed = true
		}
		if changed {
			n++
		}
	}
	if err := tx.Bucket(bucketTicketWords).Delete([]byte(t.Ref)); err != nil {
		return n, fmt.Errorf("delete words of %s: %w", t.Ref, err)
	}
	return n, nil
}

// purgeMessageTx deletes a message's raw bytes and keeps of its record
// only what threading and the overview need.
func purgeMessageTx(tx *bolt.Tx, seq uint64, anonymise bool) (bool, error) {
	changed := false
	if deleted, err := deleteRawTx(tx, seq); err != nil {
		return false, fmt.Errorf("delete raw message %d: %w", seq, err)
	} else if deleted {
		changed = true
	}
	mb := tx.Bucket(bucketMessages)
	var rec MessageRecord
	if err := getJSON(mb, itob(seq), &rec); err != nil {
		if errors.Is(err, ErrNotFound) {
			return changed, nil
		}
		return false, err
	}
	if rec.Message == nil {
		rec.Message = &intake.Message{}
	}
	m := rec.Message
	stub := &intake.Message{MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: m.References,
		Subject: m.Subject, From: m.From, Date: m.Date, ContentType: m.ContentType, ReportType: m.ReportType, Size: m.Size}
	if anonymise {
		stub.Subject, stub.From = removedText, intake.Address{}
		if rec.Class != nil {
			rec.Class.Requester, rec.Class.Org, rec.Class.Phone, rec.Class.Reasons = intake.Address{}, "", "", nil
		}
	}
	if m.Text != "" || m.HTML != "" || len(m.Attachments) > 0 || len(m.Header) > 0 || len(m.To) > 0 || len(m.Cc) > 0 ||
		len(m.ReplyTo) > 0 || len(m.Forwarded) > 0 || stub.Subject != m.Subject || stub.From != m.From {
		changed = true
	}
	if !rec.Purged {
		changed = true
	}
	rec.Message, rec.HTMLInRaw, rec.TextInRaw, rec.Purged = stub, false, false, true // the raw bytes are gone
	if err := putJSON(mb, itob(seq), &rec); err != nil {
		return false, err
	}
	return changed, nil
}

// purgeOutboxTx removes the text of a finished outbox entry (a queued one
// is still to be sent and left alone).
func purgeOutboxTx(tx *bolt.Tx, id uint64, anonymise bool) (bool, error) {
	ob := tx.Bucket(bucketOutbox)
	var e OutboxEntry
	if err := getJSON(ob, itob(id), &e); err != nil {
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	if e.Status == OutboxQueued {
		if !anonymise {
			return false, nil // still to be sent
		}
		// Erased before it went out: it is never sent.
		e.Status, e.LastError = OutboxFailed, "niet verstuurd: gegevens van de ontvanger gewist (AVG)"
		if err := tx.Bucket(bucketOutboxPending).Delete(itob(id)); err != nil {
			return false, fmt.Errorf("unqueue outbox %d: %w", id, err)
		}
	}
	changed := e.Body != "" || e.HTML != "" || e.ICS != ""
	e.Body, e.HTML, e.ICS = "", "", ""
	if anonymise {
		changed = changed || len(e.To) > 0 || len(e.Cc) > 0
		e.To, e.Cc, e.Subject, e.ThreadTopic = nil, nil, removedText, ""
	}
	if !changed {
		return false, nil
	}
	return true, putJSON(ob, itob(id), &e)
}

// Export is everything the store holds about one address.
type Export struct {
	Address   string          `json:"address"`
	Exported  time.Time       `json:"exported"`
	Tickets   []TicketExport  `json:"tickets"`
	Unmatched []MessageRecord `json:"unmatched_messages"`
	// AutoSent are the times automatic mail went to the address (rate
	// limit); Bounced the record of bounces, when any.
	AutoSent []time.Time `json:"auto_sent,omitempty"`
	Bounced  any         `json:"bounced,omitempty"`
}

// TicketExport is one ticket with its messages (parsed content) and audit
// log (in the ticket).
type TicketExport struct {
	Ticket   Ticket          `json:"ticket"`
	Messages []MessageRecord `json:"messages"`
	Outbox   []OutboxEntry   `json:"outbox,omitempty"`
}

// normAddr lower-cases and trims an address for comparison.
func normAddr(a string) string { return strings.ToLower(strings.TrimSpace(a)) }

// addressTicketsTx returns the refs of the tickets of addr: those it
// requested and those it wrote a message in.
func addressTicketsTx(tx *bolt.Tx, addr string) ([]string, error) {
	var refs []string
	err := tx.Bucket(bucketTickets).ForEach(func(k, _ []byte) error {
		var t struct {
			Requester intake.Address `json:"requester"`
			Messages  []MessageRef   `json:"messages"`
		}
		if err := getJSON(tx.Bucket(bucketTickets), k, &t); err != nil {
			return err
		}
		hit := normAddr(t.Requester.Address) == addr
		for _, m := range t.Messages {
			hit = hit || (m.Direction == DirIn && normAddr(m.From) == addr)
		}
		if hit {
			refs = append(refs, string(k))
		}
		return nil
	})
	sort.Strings(refs)
	return refs, err
}

// unmatchedOfTx returns the seqs of unmatched messages from addr.
func unmatchedOfTx(tx *bolt.Tx, addr string) ([]uint64, error) {
	var seqs []uint64
	err := tx.Bucket(bucketUnmatched).ForEach(func(k, _ []byte) error {
		var rec MessageRecord
		if err := getJSON(tx.Bucket(bucketMessages), k, &rec); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		}
		if rec.Message != nil && normAddr(rec.Message.From.Address) == addr {
			seqs = append(seqs, btoi(k))
		}
		return nil
	})
	return seqs, err
}

// ExportAddress returns everything held about addr.
func (s *Store) ExportAddress(addr string, now time.Time) (*Export, error) {
	addr = normAddr(addr)
	if addr == "" {
		return nil, errors.New("export: no address")
	}
	out := &Export{Address: addr, Exported: now, Tickets: []TicketExport{}, Unmatched: []MessageRecord{}}
	err := s.db.View(func(tx *bolt.Tx) error {
		refs, err := addressTicketsTx(tx, addr)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			t, err := ticketTx(tx, ref)
			if err != nil {
				return err
			}
			te := TicketExport{Ticket: *t, Messages: []MessageRecord{}}
			for _, m := range t.Messages {
				if rec, err := messageTx(tx, m.Seq); err == nil {
					te.Messages = append(te.Messages, *rec)
				}
				if m.OutboxID != 0 {
					var e OutboxEntry
					if err := getJSON(tx.Bucket(bucketOutbox), itob(m.OutboxID), &e); err == nil {
						te.Outbox = append(te.Outbox, e)
					}
				}
			}
			out.Tickets = append(out.Tickets, te)
		}
		seqs, err := unmatchedOfTx(tx, addr)
		if err != nil {
			return err
		}
		for _, seq := range seqs {
			if rec, err := messageTx(tx, seq); err == nil {
				out.Unmatched = append(out.Unmatched, *rec)
			}
		}
		if err := getJSON(tx.Bucket(bucketAutoSent), []byte(addr), &out.AutoSent); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		var bounced any
		if getJSON(tx.Bucket(bucketBounced), []byte(addr), &bounced) == nil {
			out.Bounced = bounced
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", addr, err)
	}
	return out, nil
}

// ForgetAddress erases addr: its tickets are anonymised (requester,
// organisation and phone replaced, subjects, bodies, raw bytes and sent
// mail text removed, the address struck from the audit log), its unmatched
// messages and rate-limit records deleted. With open tickets it does
// nothing and returns ErrOpenTickets (naming them) unless force is set.
func (s *Store) ForgetAddress(addr string, force bool, actor string, now time.Time) (PurgeResult, error) {
	addr = normAddr(addr)
	var res PurgeResult
	if addr == "" {
		return res, errors.New("forget: no address")
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		res = PurgeResult{}
		refs, err := addressTicketsTx(tx, addr)
		if err != nil {
			return err
		}
		var open []string
		tickets := make([]*Ticket, 0, len(refs))
		for _, ref := range refs {
			t, err := ticketTx(tx, ref)
			if err != nil {
				return err
			}
			if !t.closed() {
				open = append(open, ref)
			}
			tickets = append(tickets, t)
		}
		if len(open) > 0 && !force {
			return fmt.Errorf("%w: %s (close them first or use --force)", ErrOpenTickets, strings.Join(open, ", "))
		}
		for _, t := range tickets {
			// A ticket the address requested is anonymised whole; on
			// another's ticket only the address's own messages go.
			requested := normAddr(t.Requester.Address) == addr
			var only func(MessageRef) bool
			if !requested {
				only = func(m MessageRef) bool { return m.Direction == DirIn && normAddr(m.From) == addr }
			}
			n, err := purgeTicketTx(tx, t, true, only)
			if err != nil {
				return err
			}
			anonymiseTicket(t, addr, requested)
			who := "de aanvrager"
			if !requested {
				who = "een betrokkene"
			}
			t.audit(now, actor, "forget", fmt.Sprintf("persoonsgegevens van %s gewist op verzoek (AVG): %d bericht(en) geanonimiseerd", who, n), "")
			if err := putTicketTx(tx, t); err != nil {
				return err
			}
			res.Tickets++
			res.Messages += n
			res.Refs = append(res.Refs, t.Ref)
		}
		seqs, err := unmatchedOfTx(tx, addr)
		if err != nil {
			return err
		}
		for _, seq := range seqs {
			if _, err := purgeMessageTx(tx, seq, true); err != nil {
				return err
			}
			res.Messages++
		}
		for _, b := range [][]byte{bucketAutoSent, bucketBounced} {
			if err := tx.Bucket(b).Delete([]byte(addr)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return PurgeResult{}, fmt.Errorf("forget %s: %w", addr, err)
	}
	s.dropIndex()
	return res, nil
}

// anonymiseTicket strikes addr from t's audit log and flags and, when
// requester, replaces the personal data of t's requester and every note.
func anonymiseTicket(t *Ticket, addr string, requester bool) {
	if requester {
		t.Requester = intake.Address{Name: removedText, Address: "verwijderd@invalid"}
		t.Org, t.Phone, t.Subject = "", "", removedText
		t.Classification.Requester, t.Classification.Org, t.Classification.Phone, t.Classification.Reasons = intake.Address{}, "", "", nil
		t.Suggestion = nil
	}
	re := regexp.MustCompile("(?i)" + regexp.QuoteMeta(addr))
	strike := func(s string) string { return re.ReplaceAllLiteralString(s, removedText) }
	for i := range t.Audit {
		a := &t.Audit[i]
		a.Detail = strike(a.Detail)
		if requester && a.Note != "" {
			a.Note = removedText
		} else {
			a.Note = strike(a.Note)
		}
		if normAddr(a.Actor) == addr {
			a.Actor = removedText
		}
	}
	for i := range t.Flags {
		t.Flags[i] = strike(t.Flags[i])
	}
}
