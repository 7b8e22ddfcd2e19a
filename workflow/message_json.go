package workflow

// message_json.go encodes a parsed message and its classification without
// reflection, for HandleBatch's preparation of every message of a backlog
// (msgJSON, classJSON), and the stored message record around them. Byte for byte what json.Marshal gives
// (TestMessageJSONMatchesEncodingJSON fills every field by reflection).

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/poraad/loket/intake"
)

// marshalMessage returns the JSON of m, as json.Marshal(m) would.
func marshalMessage(m *intake.Message) ([]byte, error) {
	// The header fields, and the bodies with the room appendJSONString
	// keeps for escapes (a sixteenth): one allocation, not a doubling.
	b, err := appendMessageJSON(make([]byte, 0, 1024+(len(m.Text)+len(m.HTML))*9/8), m)
	if err != nil {
		return json.Marshal(m) // a value encoding/json refuses too: its error
	}
	return b, nil
}

// marshalClassification returns the JSON of c, as json.Marshal(c) would.
func marshalClassification(c *intake.Classification) ([]byte, error) {
	b, err := appendClassificationJSON(make([]byte, 0, classificationJSONSize(c)), c)
	if err != nil {
		return json.Marshal(c)
	}
	return b, nil
}

// classificationJSONSize is a little more than the JSON of c takes (as
// ticketJSONSize): one allocation, not a doubling, nor one much too big.
// Field names, punctuation and numbers take the constants (a weight of
// up to 6 characters, a score or confidence of up to 24), strings their
// length and a sixteenth; a longer weight may cost a doubling.
func classificationJSONSize(c *intake.Classification) int {
	n := len(c.Kind) + len(c.Type) + len(c.TicketRef) + len(c.ThreadMessageID) + len(c.Org) + len(c.Phone) +
		len(c.Requester.Name) + len(c.Requester.Address)
	for i := range c.Reasons {
		n += 40 + len(c.Reasons[i].Rule) + len(c.Reasons[i].Detail)
	}
	for i := range c.Candidates {
		n += 80 + len(c.Candidates[i].Type)
	}
	return 224 + n + n/16
}

// marshalRecord returns the JSON of rec as stored: json.Marshal(rec),
// without its classification when ClassInTicket. msgJSON and classJSON,
// when not nil, are the JSON of rec.Message and rec.Class, worked out
// before the transaction (HandleBatch), and put in place as they are.
func marshalRecord(rec *MessageRecord, msgJSON, classJSON []byte) ([]byte, error) {
	return marshalRecordSlab(nil, rec, msgJSON, classJSON)
}

// marshalRecordSlab is marshalRecord into the transaction's slab s.
func marshalRecordSlab(s *valueSlab, rec *MessageRecord, msgJSON, classJSON []byte) ([]byte, error) {
	size := 256 + len(msgJSON)
	if !rec.ClassInTicket {
		size += len(classJSON)
	}
	if msgJSON == nil {
		size += 1024 // appendMessageJSON's
	}
	b, err := appendRecordJSON(s.buf(size), rec, msgJSON, classJSON)
	if err != nil {
		r := *rec
		if r.ClassInTicket {
			r.Class = nil
		}
		return json.Marshal(&r) // a value encoding/json refuses too: its error
	}
	return s.keep(b), nil
}

func appendRecordJSON(b []byte, rec *MessageRecord, msgJSON, classJSON []byte) ([]byte, error) {
	var err error
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, rec.Seq, 10)
	b = append(b, `,"direction":`...)
	b = appendJSONString(b, string(rec.Direction))
	b = append(b, `,"mailbox":`...)
	b = appendJSONString(b, rec.Mailbox)
	if rec.UIDValidity != 0 {
		b = append(b, `,"uid_validity":`...)
		b = strconv.AppendUint(b, uint64(rec.UIDValidity), 10)
	}
	if rec.UID != 0 {
		b = append(b, `,"uid":`...)
		b = strconv.AppendUint(b, uint64(rec.UID), 10)
	}
	b = append(b, `,"received":`...)
	if b, err = appendJSONTime(b, rec.Received); err != nil {
		return nil, err
	}
	if rec.TicketRef != "" {
		b = append(b, `,"ticket_ref":`...)
		b = appendJSONString(b, rec.TicketRef)
	}
	b = append(b, `,"message":`...)
	switch {
	case msgJSON != nil:
		b = append(b, msgJSON...)
	case rec.Message == nil:
		b = append(b, "null"...)
	default:
		if b, err = appendMessageJSON(b, rec.Message); err != nil {
			return nil, err
		}
	}
	if rec.Class != nil && !rec.ClassInTicket {
		b = append(b, `,"classification":`...)
		if classJSON != nil {
			b = append(b, classJSON...)
		} else if b, err = appendClassificationJSON(b, rec.Class); err != nil {
			return nil, err
		}
	}
	if rec.HeaderOnly {
		b = append(b, `,"header_only":true`...)
	}
	if rec.OutboxID != 0 {
		b = append(b, `,"outbox_id":`...)
		b = strconv.AppendUint(b, rec.OutboxID, 10)
	}
	for _, f := range [...]struct {
		field string
		on    bool
	}{
		{`,"dismissed":true`, rec.Dismissed}, {`,"html_in_raw":true`, rec.HTMLInRaw},
		{`,"text_in_raw":true`, rec.TextInRaw}, {`,"class_in_ticket":true`, rec.ClassInTicket},
		{`,"purged":true`, rec.Purged},
	} {
		if f.on {
			b = append(b, f.field...)
		}
	}
	return append(b, '}'), nil
}

func appendMessageJSON(b []byte, m *intake.Message) ([]byte, error) {
	var err error
	b = append(b, `{"message_id":`...)
	b = appendJSONString(b, m.MessageID)
	b = appendStringsField(b, `,"in_reply_to":`, m.InReplyTo, true)
	b = appendStringsField(b, `,"references":`, m.References, true)
	b = append(b, `,"subject":`...)
	b = appendJSONString(b, m.Subject)
	b = append(b, `,"from":`...)
	b = appendAddressJSON(b, m.From.Name, m.From.Address)
	b = appendAddressesField(b, `,"reply_to":`, m.ReplyTo)
	b = appendAddressesField(b, `,"to":`, m.To)
	b = appendAddressesField(b, `,"cc":`, m.Cc)
	b = append(b, `,"date":`...)
	if b, err = appendJSONTime(b, m.Date); err != nil {
		return nil, err
	}
	if len(m.Header) > 0 {
		b = append(b, `,"header":{`...)
		var few [16]string // the header fields classification looks at
		keys := few[:0]
		for k := range m.Header {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, strings.Compare)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendStrings(b, m.Header[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"text":`...)
	b = appendJSONString(b, m.Text)
	if m.HTML != "" {
		b = append(b, `,"html":`...)
		b = appendJSONString(b, m.HTML)
	}
	if len(m.Attachments) > 0 {
		b = append(b, `,"attachments":`...)
		b, _ = appendJSONList(b, m.Attachments, func(b []byte, a *intake.Attachment) ([]byte, error) {
			b = append(b, `{"index":`...)
			b = strconv.AppendInt(b, int64(a.Index), 10)
			b = append(b, `,"filename":`...)
			b = appendJSONString(b, a.Filename)
			b = append(b, `,"content_type":`...)
			b = appendJSONString(b, a.ContentType)
			b = append(b, `,"size":`...)
			b = strconv.AppendInt(b, a.Size, 10)
			if a.Inline {
				b = append(b, `,"inline":true`...)
			}
			return append(b, '}'), nil
		})
	}
	b = append(b, `,"content_type":`...)
	b = appendJSONString(b, m.ContentType)
	if m.ReportType != "" {
		b = append(b, `,"report_type":`...)
		b = appendJSONString(b, m.ReportType)
	}
	if len(m.Forwarded) > 0 {
		b = append(b, `,"forwarded":`...)
		b, _ = appendJSONList(b, m.Forwarded, func(b []byte, f *intake.ForwardedHeader) ([]byte, error) {
			b = append(b, '{')
			if f.MessageID != "" {
				b = append(b, `"message_id":`...)
				b = appendJSONString(b, f.MessageID)
				b = append(b, ',')
			}
			if f.Subject != "" {
				b = append(b, `"subject":`...)
				b = appendJSONString(b, f.Subject)
				b = append(b, ',')
			}
			b = append(b, `"from":`...)
			b = appendAddressJSON(b, f.From.Name, f.From.Address)
			b = appendStringsField(b, `,"in_reply_to":`, f.InReplyTo, true)
			return append(b, '}'), nil
		})
	}
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, m.Size, 10)
	b = appendStringsField(b, `,"problems":`, m.Problems, true)
	if m.Unparsed {
		b = append(b, `,"unparsed":true`...)
	}
	return append(b, '}'), nil
}

func appendClassificationJSON(b []byte, c *intake.Classification) ([]byte, error) {
	var err error
	b = append(b, `{"kind":`...)
	b = appendJSONString(b, string(c.Kind))
	for _, f := range [...]struct{ key, v string }{
		{`,"type":`, string(c.Type)}, {`,"ticket_ref":`, c.TicketRef}, {`,"thread_message_id":`, c.ThreadMessageID},
		{`,"org":`, c.Org}, {`,"phone":`, c.Phone},
	} {
		if f.v != "" {
			b = append(b, f.key...)
			b = appendJSONString(b, f.v)
		}
	}
	b = append(b, `,"requester":`...)
	b = appendAddressJSON(b, c.Requester.Name, c.Requester.Address)
	b = append(b, `,"confidence":`...)
	if b, err = appendJSONFloat(b, c.Confidence); err != nil {
		return nil, err
	}
	b = append(b, `,"reasons":`...)
	b, err = appendJSONList(b, c.Reasons, func(b []byte, r *intake.Reason) ([]byte, error) {
		b = append(b, `{"rule":`...)
		b = appendJSONString(b, r.Rule)
		if r.Detail != "" {
			b = append(b, `,"detail":`...)
			b = appendJSONString(b, r.Detail)
		}
		if r.Weight != 0 {
			b = append(b, `,"weight":`...)
			var err error
			if b, err = appendJSONFloat(b, r.Weight); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	})
	if err != nil {
		return nil, err
	}
	if len(c.Candidates) > 0 {
		b = append(b, `,"candidates":`...)
		b, err = appendJSONList(b, c.Candidates, func(b []byte, cd *intake.Candidate) ([]byte, error) {
			b = append(b, `{"type":`...)
			b = appendJSONString(b, string(cd.Type))
			b = append(b, `,"score":`...)
			b, err := appendJSONFloat(b, cd.Score)
			if err != nil {
				return nil, err
			}
			b = append(b, `,"confidence":`...)
			if b, err = appendJSONFloat(b, cd.Confidence); err != nil {
				return nil, err
			}
			return append(b, '}'), nil
		})
		if err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendStringsField appends key and a list of strings, nothing when the
// list is empty and omitEmpty.
func appendStringsField(b []byte, key string, ss []string, omitEmpty bool) []byte {
	if len(ss) == 0 && omitEmpty {
		return b
	}
	b = append(b, key...)
	return appendStrings(b, ss)
}

// appendStrings appends a list of strings; nil is null.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendAddressesField appends key and the addresses unless there are none
// (omitempty).
func appendAddressesField(b []byte, key string, as []intake.Address) []byte {
	if len(as) == 0 {
		return b
	}
	b = append(b, key...)
	b = append(b, '[')
	for i, a := range as {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendAddressJSON(b, a.Name, a.Address)
	}
	return append(b, ']')
}

var errJSONFloat = errors.New("NaN or infinity has no JSON")

// appendJSONFloat appends f as encoding/json writes a float64: like %g,
// with ES6's exponent cut-offs and no padding of the exponent.
func appendJSONFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errJSONFloat
	}
	if b, ok := appendShortFloat(b, f); ok {
		return b, nil
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// appendShortFloat appends f as appendJSONFloat does when it is a decimal
// of at most four places below 1e9 in size, as weights, scores and
// confidences are (4, 0.3, 0.69), without strconv's shortest-digits
// search; false for any other value. The d-place decimal n/10^d that
// parses to f is the only one of d places within f's rounding (places are
// 1e-4 apart or more, f's ulp below 1.2e-7), so with the fewest places that
// do it is strconv's shortest form (TestAppendShortFloat).
func appendShortFloat(b []byte, f float64) ([]byte, bool) {
	a := math.Abs(f)
	if !(a < 1e9) || (a == 0 && math.Signbit(f)) { // -0 is "-0"
		return b, false
	}
	p := 1.0
	for d := range 5 {
		if n := math.Round(a * p); n/p == a {
			if f < 0 {
				b = append(b, '-')
			}
			i, frac := uint64(n)/uint64(p), uint64(n)%uint64(p)
			b = strconv.AppendUint(b, i, 10)
			if d > 0 {
				b = append(b, '.')
				for q := uint64(p) / 10; q > frac && q > 1; q /= 10 {
					b = append(b, '0')
				}
				b = strconv.AppendUint(b, frac, 10)
			}
			return b, true
		}
		p *= 10
	}
	return b, false
}
