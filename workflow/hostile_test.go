package workflow

import (
	"bufio"
	"bytes"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
)

// renderConfirmation returns the bytes our confirmation goes out as:
// composeMsg, exactly as the sender builds it.
func renderConfirmation(t *testing.T, e OutboxEntry) []byte {
	t.Helper()
	m, err := composeMsg(&e)
	if err != nil {
		t.Fatalf("compose: %v", err)
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatalf("write: %v", err)
	}
	return buf.Bytes()
}

// headerFields parses a message's header back and returns its field names
// in order, one per field (repeats included), and the longest line.
func headerFields(t *testing.T, raw []byte) (names []string, longest int) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("our own mail does not parse: %v\n%.2000s", err, raw)
	}
	for k, vs := range msg.Header {
		for range vs {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		longest = max(longest, len(sc.Bytes()))
	}
	return names, longest
}

// TestHostileInput sends strange and hostile mail through the whole intake
// (parse, classify, Ingest) and checks that each becomes a ticket without
// blocking the mailbox, and that our confirmation carries nothing of the
// sender's making as a header: it parses back to the same header fields as
// a confirmation of an ordinary request, each once, to the sender only.
func TestHostileInput(t *testing.T) {
	const from = "aanvrager@swv-hostile.example"
	head := func(extra string) string {
		return "From: Aanvrager <" + from + ">\r\nTo: " + mbOndersteuning + "\r\nDate: Mon, 02 Mar 2026 09:00:00 +0100\r\n" + extra
	}
	body := "\r\nGraag een clinic over ons ondersteuningsplan, bij ons op locatie.\r\n"
	var many strings.Builder
	for i := range 5000 {
		if i > 0 {
			many.WriteString(",\r\n ")
		}
		fmt.Fprintf(&many, "Ontvanger %d <ontvanger%d@school%d.example>", i, i, i%50)
	}
	nested := func(depth int) string {
		var b strings.Builder
		b.WriteString(head("Subject: Diep genest\r\nMessage-ID: <nested@swv-hostile.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n"))
		for i := range depth {
			fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i, i+1)
		}
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n%s", depth, body)
		for i := depth; i >= 0; i-- {
			fmt.Fprintf(&b, "--b%d--\r\n", i)
		}
		return b.String()
	}
	tests := []struct {
		name   string
		raw    string
		noMail string // the reason when no confirmation may go out
	}{
		{"5 000 recipients", head("To: "+many.String()+"\r\nSubject: Aanvraag clinic\r\nMessage-ID: <many@swv-hostile.example>\r\n") + body, ""},
		{"a 1 MB header field", head("X-Filler: "+strings.Repeat("x", 1<<20)+"\r\nSubject: Aanvraag clinic\r\nMessage-ID: <bigheader@swv-hostile.example>\r\n") + body, ""},
		{"a 1 MB subject", head("Subject: Aanvraag clinic "+strings.Repeat("heel lang ", 1<<17)+"\r\nMessage-ID: <bigsubject@swv-hostile.example>\r\n") + body, ""},
		{"a 100 KB Message-ID", head("Subject: Aanvraag clinic\r\nMessage-ID: <"+strings.Repeat("m", 100<<10)+"@swv-hostile.example>\r\n") + body, ""},
		{"a 100 KB References", head("Subject: Aanvraag clinic\r\nMessage-ID: <bigrefs@swv-hostile.example>\r\nReferences: <"+strings.Repeat("r", 100<<10)+"@x>\r\n") + body, ""},
		{"500 nested multiparts", nested(500), ""},
		{"a NUL byte in header and body", head("Subject: Aanvraag\x00clinic\r\nMessage-ID: <nul@swv-hostile.example>\r\n") + "\r\nGraag een clinic\x00 over ons ondersteuningsplan.\r\n", ""},
		{"CR/LF in the display name", "From: =?utf-8?q?Jan=0D=0ABcc:_evil@attacker.example=0D=0AX-Injected:_1?= <" + from + ">\r\nTo: " + mbOndersteuning +
			"\r\nSubject: Aanvraag clinic\r\nMessage-ID: <crlfname@swv-hostile.example>\r\nDate: Mon, 02 Mar 2026 09:00:00 +0100\r\n" + body, ""},
		{"CR/LF in the subject", head("Subject: =?utf-8?q?Aanvraag_clinic=0D=0ABcc:_evil@attacker.example=0D=0AX-Injected:_1?=\r\nMessage-ID: <crlfsubj@swv-hostile.example>\r\n") + body, ""},
		{"CR/LF in a raw subject's continuation", head("Subject: Aanvraag clinic\r\n \r\nBcc: evil@attacker.example\r\nMessage-ID: <crlfraw@swv-hostile.example>\r\n") + body, ""},
		{"CR/LF in Reply-To's name", head("Reply-To: =?utf-8?q?Sec=0D=0ABcc:_evil@attacker.example?= <"+from+">\r\nSubject: Aanvraag clinic\r\nMessage-ID: <crlfreply@swv-hostile.example>\r\n") + body, ""},
		{"CR/LF in Thread-Index", head("Subject: Aanvraag clinic\r\nThread-Index: =?utf-8?q?AQH=0D=0ABcc:_evil@attacker.example?=\r\nMessage-ID: <crlfidx@swv-hostile.example>\r\n") + body, ""},
		{"an invalid charset and broken base64", head("Subject: =?x-unknown?b?QWFudnJhYWc=?=\r\nMessage-ID: <charset@swv-hostile.example>\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: text/plain; charset=x-bogus\r\nContent-Transfer-Encoding: base64\r\n\r\nR3JhYWcgZWVuIGNsaW5pYw==!!!@@@\r\n"), ""},
		{"a 40 KB sender address", "From: <" + strings.Repeat("a", 40<<10) + "@swv-hostile.example>\r\nTo: " + mbOndersteuning +
			"\r\nSubject: Aanvraag clinic\r\nMessage-ID: <longfrom@swv-hostile.example>\r\nDate: Mon, 02 Mar 2026 09:00:00 +0100\r\n" + body, "te lang"},
	}

	// The reference: the header fields of the confirmation of an ordinary
	// request.
	f := newFixture(t)
	svc := f.service()
	_, q := f.handle(svc, "ondersteuning", head("Subject: Aanvraag clinic\r\nMessage-ID: <plain@swv-hostile.example>\r\n")+body)
	if len(q) != 1 {
		t.Fatalf("ordinary request: %d mails", len(q))
	}
	want, _ := headerFields(t, renderConfirmation(t, q[0]))

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			svc := f.service()
			start := time.Now()
			ref, queued := f.handle(svc, "ondersteuning", tt.raw)
			took := time.Since(start)
			if ref == "" {
				t.Fatalf("no ticket")
			}
			if took > 10*time.Second {
				t.Errorf("handling took %s", took)
			}
			if tt.noMail != "" {
				tk := f.ticket(ref)
				if last := tk.Audit[len(tk.Audit)-1]; len(queued) != 0 || !strings.Contains(last.Detail, tt.noMail) {
					t.Errorf("%d mails queued, last audit %+v; want none because %q", len(queued), last, tt.noMail)
				}
				return
			}
			if len(queued) != 1 {
				t.Fatalf("%d mails queued, want the confirmation", len(queued))
			}
			e := queued[0]
			if len(e.To) != 1 || e.To[0] != from || len(e.Cc) != 0 {
				t.Errorf("confirmation to %v cc %v, want only %s", e.To, e.Cc, from)
			}
			raw := renderConfirmation(t, e)
			got, longest := headerFields(t, raw)
			if !slices.Equal(got, want) {
				t.Errorf("confirmation header fields\n got %v\nwant %v", got, want)
			}
			if longest > 998 {
				t.Errorf("a line of %d bytes in our mail (RFC 5322: at most 998)", longest)
			}
			for _, bad := range []string{"\r\nBcc:", "\r\nX-Injected:", "\nBcc:", "\nX-Injected:"} {
				if hdr, _, _ := bytes.Cut(raw, []byte("\r\n\r\n")); bytes.Contains(hdr, []byte(bad)) {
					t.Errorf("our header has an injected line %q:\n%.3000s", bad, hdr)
				}
			}
			// What was stored is what arrived.
			tk := f.ticket(ref)
			stored, err := f.store.Raw(tk.Messages[0].Seq)
			if err != nil || !bytes.Equal(stored, []byte(tt.raw)) {
				t.Errorf("raw message not stored as received (err %v, %d of %d bytes)", err, len(stored), len(tt.raw))
			}
			t.Logf("%s: ticket %s in %s, confirmation of %d bytes", tt.name, ref, took.Round(time.Millisecond), len(raw))
		})
	}
}

// A message whose Message-ID is too long to be a key still dedupes: fetched
// again (a UIDVALIDITY change, the other mailbox), it is the same message.
func TestLongMessageIDDedupes(t *testing.T) {
	f := newFixture(t)
	m := msg("<"+strings.Repeat("m", 50<<10)+"@swv.example>", "a@swv.example", "Aanvraag clinic")
	first := f.ingest("ondersteuning", m, newClass(intake.TypeClinic))
	second := f.ingest("praktijktoets", m, newClass(intake.TypeClinic))
	if !first.NewTicket || !second.Duplicate || second.TicketRef != first.TicketRef {
		t.Errorf("first %+v, second %+v; want one ticket, then a duplicate", first, second)
	}
	rec, err := f.store.Message(first.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Message.MessageID) > maxIDLen || !slices.ContainsFunc(rec.Message.Problems, func(p string) bool { return strings.Contains(p, "replaced by a hash") }) {
		t.Errorf("stored Message-ID %.80q, problems %v", rec.Message.MessageID, rec.Message.Problems)
	}
}
