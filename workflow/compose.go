package workflow

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/poraad/loket/intake"
)

// composeMsg builds the go-mail message for an outbox entry. It is
// deterministic: the same entry gives the same headers and body, so a retry
// after a crash resends the same message with the same Message-ID. (Only
// the MIME boundaries of a multipart entry differ between renderings:
// go-mail draws them at random.)
func composeMsg(e *OutboxEntry) (*mail.Msg, error) {
	m := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := m.FromFormat(oneLine(e.FromName), e.From); err != nil {
		return nil, fmt.Errorf("from %q: %w", e.From, err)
	}
	if err := m.To(e.To...); err != nil {
		return nil, fmt.Errorf("to %v: %w", e.To, err)
	}
	if len(e.Cc) > 0 {
		if err := m.Cc(e.Cc...); err != nil {
			return nil, fmt.Errorf("cc %v: %w", e.Cc, err)
		}
	}
	m.Subject(oneLine(e.Subject))
	m.SetMessageIDWithValue(e.MessageID)
	m.SetDateWithValue(e.Date)
	if e.InReplyTo != "" {
		m.SetGenHeader(mail.HeaderInReplyTo, "<"+e.InReplyTo+">")
	}
	if len(e.References) > 0 {
		refs := make([]string, len(e.References))
		for i, r := range e.References {
			refs[i] = "<" + r + ">"
		}
		m.SetGenHeaderPreformatted(mail.HeaderReferences, strings.Join(refs, "\r\n "))
	}
	if e.ThreadTopic != "" {
		m.SetGenHeader(mail.Header("Thread-Topic"), oneLine(e.ThreadTopic))
	}
	if e.ThreadIndex != "" {
		m.SetGenHeader(mail.Header("Thread-Index"), e.ThreadIndex)
	}
	if e.Automatic {
		// RFC 3834: mark our automatic mail so that other responders stay
		// quiet, and ask Exchange not to send out-of-office replies to it.
		m.SetGenHeader(mail.Header("Auto-Submitted"), "auto-replied")
		m.SetGenHeader(mail.Header("X-Auto-Response-Suppress"), "All")
	}
	m.SetGenHeader(mail.Header("X-Loket-Ticket"), e.TicketRef)
	m.SetBodyString(mail.TypeTextPlain, e.Body)
	if e.HTML != "" {
		m.AddAlternativeString(mail.TypeTextHTML, e.HTML)
	}
	if e.ICS != "" {
		// RFC 6047: the invite as a text/calendar alternative with its
		// method, and the same object as an .ics file for clients that
		// only look at attachments.
		method := e.ICSMethod
		if method == "" {
			method = MethodRequest
		}
		m.AddAlternativeString(mail.ContentType("text/calendar; method="+method), e.ICS)
		name := "uitnodiging.ics"
		if method == MethodCancel {
			name = "annulering.ics"
		}
		m.AttachReadSeeker(name, strings.NewReader(e.ICS), mail.WithFileContentType(mail.ContentType("application/ics")))
	}
	return m, nil
}

// renderRaw returns the bytes of the message as it will be sent.
func renderRaw(e *OutboxEntry) ([]byte, error) {
	m, err := composeMsg(e)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("write message: %w", err)
	}
	return buf.Bytes(), nil
}

// outboundMessage describes an outbox entry as a stored message.
func outboundMessage(e *OutboxEntry, raw []byte) *intake.Message {
	m := &intake.Message{
		MessageID:   e.MessageID,
		Subject:     e.Subject,
		From:        intake.Address{Name: e.FromName, Address: e.From},
		Date:        e.Date,
		Text:        e.Body,
		ContentType: "text/plain",
		Size:        int64(len(raw)),
	}
	if e.InReplyTo != "" {
		m.InReplyTo = []string{e.InReplyTo}
	}
	m.References = append(m.References, e.References...)
	for _, a := range e.To {
		m.To = append(m.To, intake.Address{Address: a})
	}
	for _, a := range e.Cc {
		m.Cc = append(m.Cc, intake.Address{Address: a})
	}
	return m
}

// newMessageID returns a unique Message-ID (without brackets) in the domain
// of the sending address.
func newMessageID(ref, from string, now time.Time) string {
	domain := "loket.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i < len(from)-1 {
		domain = from[i+1:]
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("loket.%s.%s.%s@%s", strings.ToLower(ref), strings.ToLower(fmt.Sprintf("%x", now.UnixMilli())), hex.EncodeToString(b[:]), domain)
}

// oneLine removes line breaks and control characters from a header value:
// nothing a requester wrote may become a header of ours.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func joinAddrs(a []string) string { return strings.Join(a, ", ") }

// Microsoft's Thread-Index: 22 bytes for a thread's first message (6 bytes
// of FILETIME and a 16-byte GUID), plus 5 bytes for each reply (the time
// since the parent and a random nibble), base64-encoded. Outlook groups a
// conversation by it together with Thread-Topic.

const filetimeEpochDelta = 116444736000000000 // 100-ns intervals from 1601 to 1970

func filetime(t time.Time) uint64 {
	return uint64(t.UnixNano()/100) + filetimeEpochDelta
}

// threadIndex returns the Thread-Index for our message at now, as a child of
// parent when the inbound message carried one, else a new thread.
func threadIndex(parent string, now time.Time) string {
	p, err := base64.StdEncoding.DecodeString(strings.TrimSpace(parent))
	if err != nil || len(p) < 22 || (len(p)-22)%5 != 0 {
		var b [22]byte
		var ft [8]byte
		binary.BigEndian.PutUint64(ft[:], filetime(now))
		copy(b[:6], ft[:6])
		_, _ = rand.Read(b[6:])
		return base64.StdEncoding.EncodeToString(b[:])
	}
	var ft [8]byte
	copy(ft[:6], p[:6])
	parentTime := binary.BigEndian.Uint64(ft[:])
	var delta uint64
	if now := filetime(now); now > parentTime {
		delta = now - parentTime
	}
	var child uint64 // 40 bits: 1 code bit, 31 bits of time, 8 bits random
	if delta < 1<<49 {
		child = (delta >> 18) & 0x7fffffff
	} else {
		child = 1<<31 | (delta>>23)&0x7fffffff
	}
	var r [1]byte
	_, _ = rand.Read(r[:])
	child = child<<8 | uint64(r[0])
	out := append(bytes.Clone(p), byte(child>>32), byte(child>>24), byte(child>>16), byte(child>>8), byte(child))
	return base64.StdEncoding.EncodeToString(out)
}

// threadTopic strips reply and forward prefixes from a subject.
func threadTopic(subject string) string {
	s := strings.TrimSpace(subject)
	for {
		lower := strings.ToLower(s)
		cut := false
		for _, p := range []string{"re:", "aw:", "antw:", "antw.:", "fw:", "fwd:", "doorst:", "wg:", "sv:"} {
			if strings.HasPrefix(lower, p) {
				s = strings.TrimSpace(s[len(p):])
				cut = true
				break
			}
		}
		if !cut {
			return oneLine(s)
		}
	}
}
