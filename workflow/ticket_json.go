package workflow

// ticket_json.go encodes a Ticket for the store without reflection. Every
// stored message rewrites its ticket inside the serial write transaction,
// and encoding/json spent most of that time on reflection and on
// time.Time's MarshalJSON. Strings are quoted by appendJSONString
// (index.go). The output is byte for byte what json.Marshal
// gives (TestTicketJSONMatchesEncodingJSON fills every field of Ticket by
// reflection, so a field added to Ticket and not here fails it).

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// marshalTicket returns the JSON of t, as json.Marshal(t) would.
func marshalTicket(t *Ticket) ([]byte, error) { return marshalTicketSlab(nil, t) }

// marshalTicketSlab is marshalTicket into the transaction's slab s.
func marshalTicketSlab(s *valueSlab, t *Ticket) ([]byte, error) {
	b, err := appendTicketJSON(s.buf(ticketJSONSize(t)), t)
	if err != nil {
		return json.Marshal(t) // the rare value this encoder leaves to encoding/json's errors
	}
	return s.keep(b), nil
}

// ticketJSONSize is a little more than the JSON of t takes, so that it is
// one allocation, not a doubling, and not much more: the serial commit
// makes one for every ticket it stores, and their zeroing and collection
// cost as much as their encoding. Field names and punctuation, numbers
// and times take at most the constants; the strings their length, with
// appendJSONString's room for escapes (a sixteenth).
func ticketJSONSize(t *Ticket) int {
	n := len(t.Ref) + len(t.Mailbox) + len(t.MailboxAddress) + len(t.Type) + len(t.Family) + len(t.State) + len(t.Subject) +
		len(t.Requester.Name) + len(t.Requester.Address) + len(t.Org) + len(t.Phone) + len(t.Assignee) + len(t.AssigneeName) +
		len(t.ResumeState) + len(t.Session)
	for i := range t.Messages {
		m := &t.Messages[i]
		n += 200 + len(m.MessageID) + len(m.Direction) + len(m.Kind) + len(m.From) + len(m.Subject)
	}
	for i := range t.Audit {
		a := &t.Audit[i]
		n += 100 + len(a.Actor) + len(a.Action) + len(a.Detail) + len(a.Note)
	}
	for _, f := range t.Flags {
		n += 3 + len(f)
	}
	n += n / 16
	if t.Proposal != nil || t.Suggestion != nil || t.Appointment != nil {
		n += 1024 // encoding/json's, rare at intake
	}
	if t.classJSON == nil {
		n += 1024 + 128*len(t.Classification.Reasons)
	}
	return 512 + n + len(t.classJSON)
}

var errTicketTime = errors.New("time outside what RFC 3339 can write")

// appendTicketJSON appends the JSON of t; an error means json.Marshal must
// do it (a time it cannot encode either).
func appendTicketJSON(b []byte, t *Ticket) ([]byte, error) {
	var err error
	b = append(b, `{"ref":`...)
	b = appendJSONString(b, t.Ref)
	b = append(b, `,"mailbox":`...)
	b = appendJSONString(b, t.Mailbox)
	b = append(b, `,"mailbox_address":`...)
	b = appendJSONString(b, t.MailboxAddress)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, string(t.Type))
	b = append(b, `,"family":`...)
	b = appendJSONString(b, string(t.Family))
	b = append(b, `,"state":`...)
	b = appendJSONString(b, string(t.State))
	b = append(b, `,"subject":`...)
	b = appendJSONString(b, t.Subject)
	b = append(b, `,"requester":`...)
	b = appendAddressJSON(b, t.Requester.Name, t.Requester.Address)
	if t.Org != "" {
		b = append(b, `,"org":`...)
		b = appendJSONString(b, t.Org)
	}
	if t.Phone != "" {
		b = append(b, `,"phone":`...)
		b = appendJSONString(b, t.Phone)
	}
	b = append(b, `,"created":`...)
	if b, err = appendJSONTime(b, t.Created); err != nil {
		return nil, err
	}
	b = append(b, `,"updated":`...)
	if b, err = appendJSONTime(b, t.Updated); err != nil {
		return nil, err
	}
	b = append(b, `,"classification":`...)
	if t.classJSON != nil {
		b = append(b, t.classJSON...)
	} else if b, err = appendMarshaled(b, &t.Classification); err != nil {
		return nil, err
	}
	b = append(b, `,"messages":`...)
	if b, err = appendJSONList(b, t.Messages, appendMessageRefJSON); err != nil {
		return nil, err
	}
	b = append(b, `,"audit":`...)
	if b, err = appendJSONList(b, t.Audit, appendAuditJSON); err != nil {
		return nil, err
	}
	if t.Bounced {
		b = append(b, `,"bounced":true`...)
	}
	b = appendStringsField(b, `,"flags":`, t.Flags, true)
	if t.Assignee != "" {
		b = append(b, `,"assignee":`...)
		b = appendJSONString(b, t.Assignee)
	}
	if t.AssigneeName != "" {
		b = append(b, `,"assignee_name":`...)
		b = appendJSONString(b, t.AssigneeName)
	}
	if t.ResumeState != "" {
		b = append(b, `,"resume_state":`...)
		b = appendJSONString(b, string(t.ResumeState))
	}
	// Planning data is rare at intake: encoding/json does it.
	if t.Proposal != nil {
		b = append(b, `,"proposal":`...)
		if b, err = appendMarshaled(b, t.Proposal); err != nil {
			return nil, err
		}
	}
	if t.Suggestion != nil {
		b = append(b, `,"suggestion":`...)
		if b, err = appendMarshaled(b, t.Suggestion); err != nil {
			return nil, err
		}
	}
	if t.Appointment != nil {
		b = append(b, `,"appointment":`...)
		if b, err = appendMarshaled(b, t.Appointment); err != nil {
			return nil, err
		}
	}
	if t.Session != "" {
		b = append(b, `,"session":`...)
		b = appendJSONString(b, t.Session)
	}
	return append(b, '}'), nil
}

func appendMessageRefJSON(b []byte, m *MessageRef) ([]byte, error) {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, m.Seq, 10)
	b = append(b, `,"message_id":`...)
	b = appendJSONString(b, m.MessageID)
	b = append(b, `,"direction":`...)
	b = appendJSONString(b, string(m.Direction))
	if m.Kind != "" {
		b = append(b, `,"kind":`...)
		b = appendJSONString(b, string(m.Kind))
	}
	b = append(b, `,"from":`...)
	b = appendJSONString(b, m.From)
	b = append(b, `,"subject":`...)
	b = appendJSONString(b, m.Subject)
	b = append(b, `,"date":`...)
	b, err := appendJSONTime(b, m.Date)
	if err != nil {
		return nil, err
	}
	if m.OutboxID != 0 {
		b = append(b, `,"outbox_id":`...)
		b = strconv.AppendUint(b, m.OutboxID, 10)
	}
	return append(b, '}'), nil
}

func appendAuditJSON(b []byte, a *AuditEntry) ([]byte, error) {
	b = append(b, `{"at":`...)
	b, err := appendJSONTime(b, a.At)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"actor":`...)
	b = appendJSONString(b, a.Actor)
	b = append(b, `,"action":`...)
	b = appendJSONString(b, a.Action)
	if a.Detail != "" {
		b = append(b, `,"detail":`...)
		b = appendJSONString(b, a.Detail)
	}
	if a.Note != "" {
		b = append(b, `,"note":`...)
		b = appendJSONString(b, a.Note)
	}
	return append(b, '}'), nil
}

// appendJSONList appends items as a JSON array, each by appendItem; a nil
// slice is null, as encoding/json writes it.
func appendJSONList[T any](b []byte, items []T, appendItem func([]byte, *T) ([]byte, error)) ([]byte, error) {
	if items == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendItem(b, &items[i]); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendAddressJSON appends an intake.Address.
func appendAddressJSON(b []byte, name, addr string) []byte {
	b = append(b, '{')
	if name != "" {
		b = append(b, `"name":`...)
		b = appendJSONString(b, name)
		b = append(b, ',')
	}
	b = append(b, `"address":`...)
	b = appendJSONString(b, addr)
	return append(b, '}')
}

func appendMarshaled(b []byte, v any) ([]byte, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, js...), nil
}

// appendJSONTime appends t as time.Time's MarshalJSON does, or fails where
// it fails: a year outside 0–9999 or a zone offset of a day or more.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b, err := t.AppendText(append(b, '"')) // MarshalJSON's text, and its checks
	if err != nil {
		return nil, errTicketTime
	}
	return append(b, '"'), nil
}
