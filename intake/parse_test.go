package intake

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// checkParseInvariants checks what every parsed message must satisfy.
func checkParseInvariants(t *testing.T, name string, m *Message) {
	t.Helper()
	if m == nil {
		t.Fatalf("%s: nil message", name)
	}
	for _, s := range parseMessageStrings(m) {
		if !utf8.ValidString(s) {
			t.Errorf("%s: invalid UTF-8: %q", name, truncateRunes(s, 80))
		}
	}
	for _, s := range []string{m.Subject, m.From.Name, m.From.Address} {
		if strings.ContainsRune(s, 0) {
			t.Errorf("%s: NUL in %q", name, s)
		}
	}
	if m.MessageID == "" {
		t.Errorf("%s: empty MessageID", name)
	}
	for i, a := range m.Attachments {
		if a.Index != i {
			t.Errorf("%s: attachment %d has Index %d", name, i, a.Index)
		}
		if a.Filename == "" || a.ContentType == "" || a.Size < 0 {
			t.Errorf("%s: attachment %d incomplete: %+v", name, i, a)
		}
	}
	for _, p := range m.Problems {
		if strings.Contains(p, "internal parser error") {
			t.Errorf("%s: %s", name, p)
		}
	}
}

// parseMessageStrings lists every string of m.
func parseMessageStrings(m *Message) []string {
	s := []string{m.MessageID, m.Subject, m.From.Name, m.From.Address, m.Text, m.HTML, m.ContentType, m.ReportType}
	s = append(s, m.InReplyTo...)
	s = append(s, m.References...)
	s = append(s, m.Problems...)
	for _, l := range [][]Address{m.ReplyTo, m.To, m.Cc} {
		for _, a := range l {
			s = append(s, a.Name, a.Address)
		}
	}
	for k, vs := range m.Header {
		s = append(s, k)
		s = append(s, vs...)
	}
	for _, a := range m.Attachments {
		s = append(s, a.Filename, a.ContentType)
	}
	for _, f := range m.Forwarded {
		s = append(s, f.MessageID, f.Subject, f.From.Name, f.From.Address)
		s = append(s, f.InReplyTo...)
	}
	return s
}

// parseChecker checks one parsed message; its methods report through t.
type parseChecker struct {
	t *testing.T
	m *Message
}

func (c parseChecker) eq(what string, got, want any) {
	c.t.Helper()
	if !reflect.DeepEqual(got, want) {
		c.t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func (c parseChecker) contains(what, s, sub string) {
	c.t.Helper()
	if !strings.Contains(s, sub) {
		c.t.Errorf("%s does not contain %q:\n%s", what, sub, s)
	}
}

func (c parseChecker) lacks(what, s, sub string) {
	c.t.Helper()
	if strings.Contains(s, sub) {
		c.t.Errorf("%s contains %q:\n%s", what, sub, s)
	}
}

// problem checks that some problem note contains sub.
func (c parseChecker) problem(sub string) {
	c.t.Helper()
	for _, p := range c.m.Problems {
		if strings.Contains(p, sub) {
			return
		}
	}
	c.t.Errorf("no problem containing %q in %q", sub, c.m.Problems)
}

func (c parseChecker) noProblems() {
	c.t.Helper()
	if len(c.m.Problems) > 0 {
		c.t.Errorf("unexpected problems: %q", c.m.Problems)
	}
}

// attachments compares the attachment list by file name, type and size.
func (c parseChecker) attachments(want ...Attachment) {
	c.t.Helper()
	if len(c.m.Attachments) != len(want) {
		c.t.Errorf("%d attachments, want %d: %+v", len(c.m.Attachments), len(want), c.m.Attachments)
		return
	}
	for i, w := range want {
		w.Index = i
		if got := c.m.Attachments[i]; got != w {
			c.t.Errorf("attachment %d = %+v, want %+v", i, got, w)
		}
	}
}

// readParseFixture reads testdata/parse/name.
func readParseFixture(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "parse", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file  string
		check func(c parseChecker)
	}{
		{"rfc2047-headers.eml", func(c parseChecker) {
			m := c.m
			c.noProblems()
			c.eq("Subject", m.Subject, "Aanmelding praktijktoets – SWV Vóórbeeld")
			c.eq("From", m.From, Address{Name: "Marlène de Vries", Address: "m.devries@swv-voorbeeld.example"})
			c.eq("ReplyTo", m.ReplyTo, []Address{{Name: "Secretariaat, SWV Voorbeeld", Address: "secretariaat@swv-voorbeeld.example"}})
			c.eq("To", m.To, []Address{
				{Name: "Jansen, Pieter", Address: "p.jansen@poraad.nl"},
				{Address: "ondersteuningpassendonderwijs@poraad.nl"},
			})
			c.eq("Cc", m.Cc, []Address{
				{Name: "Karel Bakker", Address: "k.bakker@swv-voorbeeld.example"},
				{Name: "Renée Müller", Address: "renee@example.org"},
			})
			c.eq("Date", m.Date.UTC(), time.Date(2026, 3, 1, 9, 15, 0, 0, time.UTC))
			c.eq("MessageID", m.MessageID, "20260301.abc123@swv-voorbeeld.example")
			c.eq("InReplyTo", m.InReplyTo, []string{"ack-PO-2026-0007@poraad.nl"})
			c.eq("References", m.References, []string{"first@example.org", "ack-PO-2026-0007@poraad.nl"})
			c.eq("Header", m.Header, map[string][]string{
				"Auto-Submitted": {"no"},
				"X-Mailer":       {"Microsoft Outlook 16.0"},
				"Thread-Topic":   {"Aanmelding – praktijktoets"},
				"Return-Path":    {"<m.devries@swv-voorbeeld.example>"},
				"Content-Type":   {"text/plain; charset=utf-8"},
			})
			c.eq("HeaderValue", m.HeaderValue("auto-submitted"), "no")
			c.eq("ContentType", m.ContentType, "text/plain")
			c.eq("Text", m.Text, "Goedemorgen,\n\nWij melden ons aan voor de praktijktoets.")
		}},
		{"latin1-qp.eml", func(c parseChecker) {
			c.noProblems()
			c.eq("Subject", c.m.Subject, "Café en €")
			c.eq("Text", c.m.Text, "Het café kost € 12,50 per persoon en “alles” is inbegrepen. Deze zin loopt door.\nEinde= klaar.")
		}},
		{"cp1252-8bit.eml", func(c parseChecker) {
			c.noProblems()
			c.eq("From", c.m.From, Address{Name: "Strandberg, Yvonne", Address: "y.strandberg@gemeente.example"})
			c.eq("Text", c.m.Text, "De “werkbijeenkomst” kost € 0 – gratis dus.\nGroet…")
		}},
		{"base64-utf8.eml", func(c parseChecker) {
			c.noProblems()
			c.eq("Text", c.m.Text, "Goedemiddag,\n\nDit bericht is base64 en bevat één euroteken: €.")
		}},
		{"outlook-html-only.eml", func(c parseChecker) {
			m := c.m
			c.noProblems()
			c.eq("ContentType", m.ContentType, "text/html")
			c.eq("Text", m.Text, "Beste mensen,\n\n"+
				"Graag vragen wij een maatwerkbijeenkomst aan over governance & financiën.\n"+
				"Kosten: € 0 of 5 < 6?\n"+
				"bestuur\ntoezicht\n"+
				"Naam Functie\nA. Verhoeckx bestuurder\n\n"+
				"Met vriendelijke groet,\nAnnelies Verhoeckx – bestuurder")
			c.contains("HTML", m.HTML, `<p class="MsoNormal">Graag vragen wij een <b>maatwerkbijeenkomst</b> aan over governance &amp; financiën.<br>`)
			c.contains("HTML", m.HTML, "<style>")
			for _, hidden := range []string{"Niet tonen", "MsoNormal", "alert", "shapedefaults"} {
				c.lacks("Text", m.Text, hidden)
			}
			c.eq("Thread-Index", m.HeaderValue("Thread-Index"), "AdyM3f7Kq1n2Zx0aQ0uQ9m3V5w7Ybg==")
		}},
		{"flowed.eml", func(c parseChecker) {
			c.noProblems()
			c.eq("Text", c.m.Text, "Dear colleagues,\n\n"+
				"Last November two of your project leaders ran a clinic for our primary department. We would like a follow-up session.\n"+
				"> Quoted text that was flowed too.\n"+
				"From the space-stuffed line.\n\n"+
				"-- \nFiona")
		}},
		{"flowed-delsp.eml", func(c parseChecker) {
			c.eq("Text", c.m.Text, "Lange woorden worden gesplitst.\nNieuwe regel.")
		}},
		{"attachments.eml", func(c parseChecker) {
			c.noProblems()
			c.eq("Text", c.m.Text, "Hierbij de begroting.")
			c.eq("HTML", c.m.HTML, "<p>Hierbij de <b>begroting</b>.</p>")
			c.attachments(
				Attachment{Filename: "Begroting Müller.pdf", ContentType: "application/pdf", Size: 30},
				Attachment{Filename: "Overzicht deelnemers.xlsx", ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Size: 1000},
				Attachment{Filename: "logo–klein.png", ContentType: "image/png", Size: 12, Inline: true},
				Attachment{Filename: "bijlage-4.bin", ContentType: "application/octet-stream", Size: 4},
				Attachment{Filename: "bijlage-5.ics", ContentType: "text/calendar", Size: 29},
				Attachment{Filename: "passwd", ContentType: "application/x-zip-compressed", Size: 5},
			)
		}},
		{"forwarded-rfc822.eml", func(c parseChecker) {
			c.noProblems()
			c.eq("Text", c.m.Text, "Zie de doorgestuurde vraag van onze bestuurder.")
			c.eq("Forwarded", c.m.Forwarded, []ForwardedHeader{{
				MessageID: "inner-1@skpo.example",
				Subject:   "medicijnprotocol",
				From:      Address{Name: "Els Brouwer–Stam", Address: "e.brouwerstam@skpo.example"},
				InReplyTo: []string{"older@skpo.example"},
			}})
			// The forwarded message's own PDF stays inside it.
			c.attachments(Attachment{Filename: "doorgestuurd-bericht.eml", ContentType: "message/rfc822", Size: 517})
		}},
		{"forwarded-only.eml", func(c parseChecker) {
			c.noProblems()
			c.eq("Text", c.m.Text, "Kunnen jullie een clinic geven?")
			c.eq("Forwarded subject", c.m.Forwarded[0].Subject, "vraag")
			c.attachments(Attachment{Filename: "vraag van de directeur.eml", ContentType: "message/rfc822", Size: 171})
		}},
		{"bounce-report.eml", func(c parseChecker) {
			m := c.m
			c.noProblems()
			c.eq("ContentType", m.ContentType, "multipart/report")
			c.eq("ReportType", m.ReportType, "delivery-status")
			c.eq("From", m.From, Address{Name: "Mail Delivery System", Address: "mailer-daemon@mail.poraad.nl"})
			c.eq("Auto-Submitted", m.HeaderValue("Auto-Submitted"), "auto-replied")
			c.eq("Return-Path", m.HeaderValue("Return-Path"), "<>")
			c.contains("Text", m.Text, "550 5.1.1 User unknown")
			c.lacks("Text", m.Text, "Reporting-MTA")
			c.eq("Forwarded", m.Forwarded, []ForwardedHeader{{
				MessageID: "ack-20260224-0058.e5a0@poraad.nl",
				Subject:   "[PO-2026-0058] Ontvangstbevestiging: uw aanvraag",
				From:      Address{Name: "Passend onderwijs PO-Raad", Address: "ondersteuningpassendonderwijs@poraad.nl"},
				InReplyTo: []string{"b7e3f0a2@swv.example"},
			}})
			c.attachments(
				Attachment{Filename: "bijlage-1.txt", ContentType: "message/delivery-status", Size: 115},
				Attachment{Filename: "bijlage-2.txt", ContentType: "text/rfc822-headers", Size: 245},
			)
		}},
		{"mbox-from.eml", func(c parseChecker) {
			c.problem("mbox envelope line removed")
			c.eq("From", c.m.From.Address, "sender@example.org")
			c.eq("Subject", c.m.Subject, "Uit een mbox-export")
			c.eq("Text", c.m.Text, "Tekst uit een mbox.\n>From here on it is body.")
		}},
		{"no-boundary.eml", func(c parseChecker) {
			c.problem("multipart without boundary")
			c.eq("ContentType", c.m.ContentType, "multipart/report")
			c.eq("Text", c.m.Text, "Een multipart zonder boundary.")
		}},
		{"unclosed-boundary.eml", func(c parseChecker) {
			c.problem("closing MIME boundary missing")
			c.eq("Text", c.m.Text, "Het bericht houdt halverwege op, maar deze tekst blijft bewaard.")
		}},
		{"unknown-charset.eml", func(c parseChecker) {
			c.problem(`unknown charset "x-fantasy"; decoded as windows-1252`)
			c.eq("Text", c.m.Text, "Prijs: € 5 – café")
			c.eq("HTML", c.m.HTML, "<p>ascii</p>")
		}},
		{"bad-base64.eml", func(c parseChecker) {
			c.problem("invalid base64 data skipped")
			c.problem(`unknown transfer encoding "base9000"`)
			c.problem("base64 data cut short")
			c.eq("Text", c.m.Text, "Hallo wereld")
			c.attachments(
				Attachment{Filename: "some.doc", ContentType: "application/msword", Size: 7},
				Attachment{Filename: "foo.zip", ContentType: "application/x-zip-compressed", Size: 12}, // kept undecoded
				Attachment{Filename: "cut.pdf", ContentType: "application/pdf", Size: 7},
			)
		}},
		{"no-message-id.eml", func(c parseChecker) {
			c.problem("no Message-ID")
			raw := readParseFixture(c.t, "no-message-id.eml")
			sum := sha256.Sum256(raw)
			c.eq("MessageID", c.m.MessageID, "sha256-"+hex.EncodeToString(sum[:16])+"@loket.invalid")
		}},
		{"junk-before-header.eml", func(c parseChecker) {
			c.problem("junk before the header skipped")
			c.eq("Subject", c.m.Subject, "Contact from Server")
			c.eq("MessageID", c.m.MessageID, "20180802145828.58E7387959@mail.example.cz")
			c.eq("Date", c.m.Date.UTC(), time.Date(2018, 8, 2, 14, 58, 28, 0, time.UTC))
			c.eq("Text", c.m.Text, "Contact form")
		}},
		{"unreadable.eml", func(c parseChecker) {
			c.eq("Unparsed", c.m.Unparsed, true)
			c.eq("Subject", c.m.Subject, "(onleesbaar bericht)")
			c.problem("no readable header")
			c.contains("Text", c.m.Text, "junk without any header")
			c.lacks("Text", c.m.Text, "\x00")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := readParseFixture(t, tt.file)
			m := Parse(raw)
			checkParseInvariants(t, tt.file, m)
			if m.Size != int64(len(raw)) {
				t.Errorf("Size = %d, want %d", m.Size, len(raw))
			}
			tt.check(parseChecker{t, m})
		})
	}
}

func TestParseHeader(t *testing.T) {
	raw := readParseFixture(t, "bounce-report.eml")
	header := raw[:bytes.Index(raw, []byte("\n\n"))+2]
	m := ParseHeader(header, 40<<20)
	c := parseChecker{t, m}
	checkParseInvariants(t, "header", m)
	c.eq("Size", m.Size, int64(40<<20))
	c.eq("Subject", m.Subject, "Undelivered Mail Returned to Sender")
	c.eq("MessageID", m.MessageID, "20260224081205.6B1D02E0A4F@mail.poraad.nl")
	c.eq("ContentType", m.ContentType, "multipart/report")
	c.eq("ReportType", m.ReportType, "delivery-status")
	c.eq("Text", m.Text, "")
	c.eq("Problems", m.Problems, []string{"message of 41943040 bytes exceeds the size cap; only the header was stored"})

	m = ParseHeader([]byte("\x00\x01 not a header"), 99)
	c = parseChecker{t, m}
	c.eq("Unparsed", m.Unparsed, true)
	c.eq("Size", m.Size, int64(99))
	c.problem("exceeds the size cap")
}

func TestParseNeverNil(t *testing.T) {
	for _, raw := range []string{
		"",
		"\n",
		"\r\n\r\n",
		"Subject: x",
		"Subject: x\n\n",
		"From: a\nContent-Type: multipart/mixed; boundary=x\n\n--x\n",
		"Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\n",
		"Content-Type: text/plain; charset=\"\n\n\xff",
		"Subject: =?utf-8?B?====?= =?x?Q?=ZZ?= =?utf-8?q?_?=\n\n",
	} {
		m := Parse([]byte(raw))
		checkParseInvariants(t, fmt.Sprintf("%q", raw), m)
		if m.Size != int64(len(raw)) {
			t.Errorf("%q: Size = %d", raw, m.Size)
		}
	}
}

func TestParseLimits(t *testing.T) {
	t.Run("parts", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("Subject: many\nContent-Type: multipart/mixed; boundary=b\n\n")
		for i := 0; i < 150; i++ {
			fmt.Fprintf(&b, "--b\nContent-Type: application/octet-stream\n\n%d\n", i)
		}
		b.WriteString("--b--\n")
		m := Parse([]byte(b.String()))
		c := parseChecker{t, m}
		c.problem("more than 100 MIME parts")
		if n := len(m.Attachments); n != maxParts-1 {
			t.Errorf("%d attachments, want %d (the top entity counts as a part)", n, maxParts-1)
		}
	})
	t.Run("depth", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("Subject: deep\nContent-Type: multipart/mixed; boundary=b0\n\n")
		for i := 1; i <= 30; i++ {
			fmt.Fprintf(&b, "--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", i-1, i)
		}
		b.WriteString("--b30\nContent-Type: text/plain\n\ndeepest\n")
		m := Parse([]byte(b.String()))
		c := parseChecker{t, m}
		c.problem("MIME nesting deeper than 20 levels")
		c.eq("Text", m.Text, "")
	})
	t.Run("encoded forward", func(t *testing.T) {
		inner := "Message-ID: <inner@example.org>\nSubject: groot doorgestuurd\n\n" + strings.Repeat("x", maxForwardBytes)
		raw := "Subject: fwd\nContent-Type: multipart/mixed; boundary=b\n\n--b\n" +
			"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" +
			base64.StdEncoding.EncodeToString([]byte(inner)) + "\n--b--\n"
		m := Parse([]byte(raw))
		c := parseChecker{t, m}
		c.problem("its text was not read")
		c.eq("Forwarded subject", m.Forwarded[0].Subject, "groot doorgestuurd")
		c.attachments(Attachment{Filename: "doorgestuurd-bericht.eml", ContentType: "message/rfc822", Size: int64(len(inner))})
		a, err := ExtractAttachment([]byte(raw), 0, io.Discard)
		c.eq("extract error", err, nil)
		c.eq("extracted", a, m.Attachments[0])
	})
	t.Run("field", func(t *testing.T) {
		long := strings.Repeat("é", 50<<10) // 100 KiB
		m := Parse([]byte("Subject: " + long + "\n\nbody\n"))
		c := parseChecker{t, m}
		c.problem("header field Subject longer than 65536 bytes truncated")
		if len(m.Subject) > maxFieldBytes {
			t.Errorf("Subject is %d bytes", len(m.Subject))
		}
		c.eq("Text", m.Text, "body")
	})
}

func TestParseStringsClean(t *testing.T) {
	raw := "From: \"Na\x00me\" <a@b.example>\nSubject: sub\x00ject \xff\nMessage-ID: <x@y>\n\ntext\x00 \xfe\n"
	m := Parse([]byte(raw))
	checkParseInvariants(t, "nul", m)
	c := parseChecker{t, m}
	c.eq("Subject", m.Subject, "subject ÿ")
	c.eq("From name", m.From.Name, "Name")
	c.eq("Text", m.Text, "text þ")
}

func TestExtractAttachment(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "parse", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := Parse(raw)
		for _, want := range m.Attachments {
			var buf bytes.Buffer
			got, err := ExtractAttachment(raw, want.Index, &buf)
			if err != nil {
				t.Errorf("%s: attachment %d: %v", path, want.Index, err)
				continue
			}
			if got != want {
				t.Errorf("%s: ExtractAttachment = %+v, Parse listed %+v", path, got, want)
			}
			if int64(buf.Len()) != want.Size {
				t.Errorf("%s: attachment %d: %d bytes written, Size %d", path, want.Index, buf.Len(), want.Size)
			}
		}
		if _, err := ExtractAttachment(raw, len(m.Attachments), io.Discard); !errors.Is(err, ErrAttachmentNotFound) {
			t.Errorf("%s: index past the end: err = %v, want ErrAttachmentNotFound", path, err)
		}
	}

	raw := readParseFixture(t, "attachments.eml")
	var buf bytes.Buffer
	if _, err := ExtractAttachment(raw, 0, &buf); err != nil {
		t.Fatal(err)
	}
	if want := "%PDF-1.4\nBegroting test\n%%EOF\n"; buf.String() != want {
		t.Errorf("content = %q, want %q", buf.String(), want)
	}
	if _, err := ExtractAttachment(raw, -1, io.Discard); !errors.Is(err, ErrAttachmentNotFound) {
		t.Errorf("index -1: err = %v", err)
	}
	fw := failingWriter{}
	if _, err := ExtractAttachment(raw, 1, fw); !errors.Is(err, errParseTestWrite) {
		t.Errorf("failing writer: err = %v", err)
	}
}

var errParseTestWrite = errors.New("write failed")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errParseTestWrite }

// bigAttachmentMessage builds a message with a base64 attachment of size
// bytes.
func bigAttachmentMessage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("Message-ID: <big@example.org>\r\nDate: Fri, 6 Mar 2026 10:00:00 +0100\r\nFrom: a@example.org\r\nSubject: groot\r\n" +
		"Content-Type: multipart/mixed; boundary=\"big\"\r\n\r\n" +
		"--big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nZie bijlage.\r\n" +
		"--big\r\nContent-Type: application/pdf; name=\"groot.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	chunk := make([]byte, 57) // one 76-character line
	line := make([]byte, 76)
	for left := size; left > 0; left -= len(chunk) {
		n := min(left, len(chunk))
		for i := range chunk[:n] {
			chunk[i] = byte(left + i)
		}
		base64.StdEncoding.Encode(line, chunk[:n])
		b.Write(line[:base64.StdEncoding.EncodedLen(n)])
		b.WriteString("\r\n")
	}
	b.WriteString("--big--\r\n")
	return b.Bytes()
}

func TestParseLargeAttachment(t *testing.T) {
	if testing.Short() {
		t.Skip("large message")
	}
	const size = 30 << 20
	raw := bigAttachmentMessage(size)

	// The least of three runs, so that a stray allocation elsewhere in the
	// process does not fail the test.
	var m *Message
	alloc := uint64(1<<64 - 1)
	for range 3 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m = Parse(raw)
		runtime.ReadMemStats(&after)
		alloc = min(alloc, after.TotalAlloc-before.TotalAlloc)
	}

	c := parseChecker{t, m}
	c.noProblems()
	c.eq("Text", m.Text, "Zie bijlage.")
	c.attachments(Attachment{Filename: "groot.pdf", ContentType: "application/pdf", Size: size})
	t.Logf("raw %d bytes, Parse allocated %d bytes", len(raw), alloc)
	if limit := uint64(len(raw)) / 10; alloc > limit {
		t.Errorf("Parse allocated %d bytes for a %d-byte message, want at most %d: the attachment must be streamed, not buffered", alloc, len(raw), limit)
	}

	h := sha256.New()
	a, err := ExtractAttachment(raw, 0, h)
	if err != nil {
		t.Fatal(err)
	}
	c.eq("extracted size", a.Size, int64(size))
}

func BenchmarkParseLargeAttachment(b *testing.B) {
	raw := bigAttachmentMessage(30 << 20)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		Parse(raw)
	}
}

func BenchmarkParseFixtures(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("testdata", "parse", "*.eml"))
	var raws [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, raw)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, raw := range raws {
			Parse(raw)
		}
	}
}

func ExampleParse() {
	raw := []byte("From: =?utf-8?Q?Marl=C3=A8ne_de_Vries?= <M.deVries@example.org>\r\n" +
		"Subject: =?iso-8859-1?Q?Aanmelding_caf=E9?=\r\n" +
		"Content-Type: text/plain; charset=windows-1252\r\n" +
		"\r\n" +
		"Kosten: \x80 10.\r\n")
	m := Parse(raw)
	fmt.Println(m.From.Name, m.From.Address)
	fmt.Println(m.Subject)
	fmt.Println(m.Text)
	fmt.Println(m.Problems)
	// Output:
	// Marlène de Vries m.devries@example.org
	// Aanmelding café
	// Kosten: € 10.
	// [no Date header no Message-ID; synthesised from the content hash]
}

func TestHTMLToText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<p>a</p><p>b</p>", "a\nb"},
		{"a<br>b<br/>c", "a\nb\nc"},
		{"x <6 y &lt;&amp;&gt; &euro;&nbsp;1", "x <6 y <&> € 1"},
		{"<ul><li>een<li>twee</ul>na", "een\ntwee\nna"},
		{"<head><title>t</title></head><body>body</body>", "body"},
		{"<head><meta charset=utf-8>zonder einde", "zonder einde"},
		{"<STYLE>p{}</STYLE><Script>x()</SCRIPT>tekst", "tekst"},
		{"<!-- <p>weg</p> -->blijft<!-- open", "blijft"},
		{"<a href=\"x>y\">link</a>", "link"},
		{"<pre>  twee\n  regels</pre>", "twee\nregels"},
		{"<p>a</p>\n\n\n<p></p><p></p><p>b</p>", "a\n\nb"},
	}
	for _, tt := range tests {
		if got := htmlToText(tt.in); got != tt.want {
			t.Errorf("htmlToText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseAddressListLenient(t *testing.T) {
	tests := []struct {
		in   string
		want []Address
	}{
		{`"Jansen, Pieter" <P.Jansen@Example.org>`, []Address{{Name: "Jansen, Pieter", Address: "p.jansen@example.org"}}},
		{`Jansen, Pieter <p.jansen@example.org>`, []Address{{Name: "Jansen, Pieter", Address: "p.jansen@example.org"}}},
		{`k.bakker@example.org (Karel Bakker)`, []Address{{Name: "Karel Bakker", Address: "k.bakker@example.org"}}},
		{`MAILER-DAEMON (Mail Delivery System)`, []Address{{Name: "Mail Delivery System", Address: "mailer-daemon"}}},
		{`Test test@example.com`, []Address{{Name: "Test", Address: "test@example.com"}}},
		{`"finances@example.com"`, []Address{{Address: "finances@example.com"}}},
		{`Bob <bob@x.example> Bobby <bobby@x.example>`, []Address{{Name: "Bob", Address: "bob@x.example"}, {Name: "Bobby", Address: "bobby@x.example"}}},
		{`"=?GB2312?B?ztI=?=" <>`, []Address{{Name: "我"}}},
		{`=?ISO-2022-JP?B?GyRCO3ZMMzZJGyhC==?= <noreply@example.org>`, []Address{{Name: "事務局", Address: "noreply@example.org"}}},
		{`"Clement" <Claudia.Shu@yahoo.com.>`, []Address{{Name: "Clement", Address: "claudia.shu@yahoo.com."}}},
		{`undisclosed-recipients:;`, []Address{}},
		{``, nil},
	}
	for _, tt := range tests {
		got := parseAddressList(tt.in)
		if len(got) == 0 && len(tt.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseAddressList(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseEnvelopeFallbacks(t *testing.T) {
	tests := []struct {
		header string
		check  func(c parseChecker)
	}{
		{"Date: Thu, 2 Aug 2018 16:58:28 +0200 (CEST)\n", func(c parseChecker) {
			c.eq("Date", c.m.Date.UTC(), time.Date(2018, 8, 2, 14, 58, 28, 0, time.UTC))
		}},
		{"Date: Thu,  2 Aug 2018 16:58 +0200\n", func(c parseChecker) {
			c.eq("Date", c.m.Date.UTC(), time.Date(2018, 8, 2, 14, 58, 0, 0, time.UTC))
		}},
		{"Date: gisteren\n", func(c parseChecker) {
			c.eq("Date zero", c.m.Date.IsZero(), true)
			c.problem(`unreadable Date "gisteren"`)
		}},
		{"Message-ID: no-brackets@example.org\n", func(c parseChecker) {
			c.eq("MessageID", c.m.MessageID, "no-brackets@example.org")
		}},
		{"References: <a@x>,<b@x>\n <c@x>\nIn-Reply-To: <c@x> (comment)\n", func(c parseChecker) {
			c.eq("References", c.m.References, []string{"a@x", "b@x", "c@x"})
			c.eq("InReplyTo", c.m.InReplyTo, []string{"c@x"})
		}},
		{"From: [broken]\nFrom: Echte Afzender <echt@example.org>\n", func(c parseChecker) {
			c.eq("From", c.m.From, Address{Name: "Echte Afzender", Address: "echt@example.org"})
		}},
		{"From: \"Niemand\" <>\nReply-To: <antwoord@example.org>\n", func(c parseChecker) {
			c.eq("From", c.m.From.Address, "antwoord@example.org")
			c.problem("no usable From address; Reply-To used")
		}},
	}
	for _, tt := range tests {
		m := Parse([]byte("Subject: test\n" + tt.header + "\nbody\n"))
		checkParseInvariants(t, tt.header, m)
		tt.check(parseChecker{t, m})
	}
}

// The text helpers below are the plain versions of unflow, htmlToText and
// tidyLines; the ones in parse.go reuse buffers and must give the same.

// unflowReference is unflow as it was before it reused buffers: it joins the lines of a format=flowed text (RFC 3676): a line that
// ends in a space continues on the next line of the same quote depth; with
// DelSp=yes that space is removed.
func unflowReference(s string, delsp bool) string {
	lines := strings.Split(s, "\n")
	var out, para strings.Builder
	depth, open := 0, false
	flush := func() {
		if !open {
			return
		}
		if depth > 0 {
			out.WriteString(strings.Repeat(">", depth))
			if para.Len() > 0 {
				out.WriteByte(' ')
			}
		}
		out.WriteString(para.String())
		out.WriteByte('\n')
		para.Reset()
		open = false
	}
	for _, l := range lines {
		d := 0
		for d < len(l) && l[d] == '>' {
			d++
		}
		content := l[d:]
		content = strings.TrimPrefix(content, " ") // space-stuffing
		if open && d != depth {
			flush()
		}
		depth, open = d, true
		flowed := strings.HasSuffix(content, " ") && content != "-- "
		if flowed && delsp {
			content = content[:len(content)-1]
		}
		para.WriteString(content)
		if !flowed {
			flush()
		}
	}
	flush()
	return strings.TrimSuffix(out.String(), "\n")
}

// htmlToTextReference is htmlToText as it was before it reused buffers: it derives readable text from HTML: tags are removed, the content
// of head, script and style is dropped, line-breaking elements become line
// breaks, entities are decoded and runs of blank lines collapse to one.
func htmlToTextReference(s string) string {
	var b strings.Builder
	b.Grow(len(s) / 2)
	pre := 0
	lineStart, space := true, false
	writeText := func(t string) {
		if t == "" {
			return
		}
		if strings.IndexByte(t, '&') >= 0 {
			t = html.UnescapeString(t)
		}
		if pre > 0 {
			b.WriteString(t)
			lineStart = strings.HasSuffix(t, "\n")
			space = false
			return
		}
		for i := 0; i < len(t); {
			if isPlainHTMLTextByte(t[i]) {
				// A run of ASCII that is not white space, at once.
				j := i + 1
				for j < len(t) && isPlainHTMLTextByte(t[j]) {
					j++
				}
				b.WriteString(t[i:j])
				lineStart, space = false, false
				i = j
				continue
			}
			r, size := utf8.DecodeRuneInString(t[i:])
			i += size
			switch r {
			case ' ', '\t', '\n', '\r', '\f', '\u00a0':
				if !lineStart && !space {
					b.WriteByte(' ')
					space = true
				}
			default:
				b.WriteRune(r)
				lineStart, space = false, false
			}
		}
	}
	newline := func() {
		b.WriteByte('\n')
		lineStart, space = true, false
	}
	ensureLine := func() {
		if !lineStart {
			newline()
		}
	}

	i := 0
	for i < len(s) {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			writeText(s[i:])
			break
		}
		writeText(s[i : i+lt])
		i += lt
		rest := s[i:]
		if strings.HasPrefix(rest, "<!--") {
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		if len(rest) > 1 && (rest[1] == '!' || rest[1] == '?') {
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				break
			}
			i += end + 1
			continue
		}
		j := 1
		closing := false
		if j < len(rest) && rest[j] == '/' {
			closing = true
			j++
		}
		isLetter := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
		k := j
		for k < len(rest) && (isLetter(rest[k]) || k > j && (rest[k] >= '0' && rest[k] <= '9' || rest[k] == ':' || rest[k] == '-')) {
			k++
		}
		if k == j {
			// Not a tag ("a <6", "<3"): a literal '<'.
			writeText("<")
			i++
			continue
		}
		name := strings.ToLower(rest[j:k])
		i += tagEnd(rest, k)

		switch name {
		case "script", "style", "head", "title", "xml", "template":
			if closing {
				continue
			}
			end := indexClosingTag(s[i:], name)
			if end < 0 {
				if name == "head" {
					continue // keep the content of an unclosed head
				}
				i = len(s)
				continue
			}
			i += end
		case "br":
			newline()
		case "p", "div", "tr", "table", "ul", "ol", "dl", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
			"center", "section", "article", "header", "footer", "address", "form", "fieldset", "dd", "dt", "caption":
			if closing {
				newline()
			} else {
				ensureLine()
			}
		case "li":
			if !closing {
				ensureLine()
			}
		case "hr":
			ensureLine()
			newline()
		case "pre":
			if closing {
				if pre > 0 {
					pre--
				}
				newline()
			} else {
				ensureLine()
				pre++
			}
		case "td", "th":
			if !closing && !lineStart {
				writeText(" ")
			}
		}
	}
	return tidyLinesReference(b.String())
}

// tidyLinesReference is tidyLines as it was before it worked in place: it trims every line and collapses runs of blank lines into one.
func tidyLinesReference(s string) string {
	var b strings.Builder
	blank := 0
	started := false
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			blank++
			continue
		}
		if started {
			b.WriteByte('\n')
			if blank > 0 {
				b.WriteByte('\n')
			}
		}
		b.WriteString(l)
		started = true
		blank = 0
	}
	return b.String()
}

var textHelperSeeds = []string{
	"", "\n", "a", "a\n", "\n\n\nb\n\n", " a \n\t\n b\u00a0\n\u2003c\u2003", "a\n\n\n\n", "x\r\ny",
	"Hallo, \ndit is \neen lange regel.\n> geciteerd \n> verder\n>> diep \n-- \nPiet", ">\n> \n>>x \n\n y ",
	"<p>Hallo&nbsp;daar</p><div>a<br>b</div><pre> x\n  y</pre><table><tr><td>1<td>2</table>",
	"<html><head><title>t</title><style>p{}</style></head><body><!-- c --><p>a &amp; b</p><ul><li>x<li>y</ul><hr>z",
	"a <6 en <3 <script>x</script> <b x='>'>y</b> <a href=\"q>\">l</a> <x '>", "<PRE>a\n\nb</PRE>c", "</p>x</pre>y",
	"caf\u00e9 \xe9\xff <p>\xc3</p>", "<head>open", "<style>open", "content-TYPE", "Message-ID", "X-MS-Exchange-Message-Is-NDR", "c\xc3\xa9", "Cc", "C-", "Subject\x00",
	"a\r\nb", "a \r\n\r\n", "=0D\r\n", "=0D=0D\r\nx", "\r\r\n", "\r\r\r\n", "a=\r\n\r\nb", "=0D \r\n", "\xc3\r\n\xa9\r\n",
}

func checkTextHelpers(t *testing.T, s string) {
	t.Helper()
	for _, delsp := range []bool{false, true} {
		if got, want := unflow(s, delsp), unflowReference(s, delsp); got != want {
			t.Errorf("unflow(%q, %v) = %q, want %q", s, delsp, got, want)
		}
	}
	if got, want := htmlToText(s), htmlToTextReference(s); got != want {
		t.Errorf("htmlToText(%q) = %q, want %q", s, got, want)
	}
	if got, want := tidyLines(s), tidyLinesReference(s); got != want {
		t.Errorf("tidyLines(%q) = %q, want %q", s, got, want)
	}

	if got, want := lookupUsedKey([]byte(s)), usedHeaderKey([]byte(s)); got != want {
		t.Errorf("lookupUsedKey(%q) = %q, usedHeaderKey %q", s, got, want)
	}

	// Quoted-printable with CRLF folded while decoding, then the body text
	// of a charset that folds after its conversion.
	var stFold, stPlain decodeStats
	plain := decodeQP([]byte(s), &stPlain)
	folded := decodeQPTo(nil, []byte(s), &stFold, true)
	if got, want := lineEndings.Replace(string(folded)), lineEndings.Replace(string(plain)); got != want || stFold != stPlain {
		t.Errorf("decodeQPTo(%q, fold) folds to %q %+v, want %q %+v", s, got, stFold, want, stPlain)
	}
	for _, label := range []string{"", "UTF-8", "iso-8859-1", "Windows-1252", "us-ascii"} {
		if !foldsLineEndings(commonCharset(label)) {
			t.Errorf("foldsLineEndings(%q) = false", label)
		}
		gt, gn := decodeCharset(label, plain)
		gt = lineEndings.Replace(gt)
		buf := append([]byte(nil), folded...)
		if ft, fn := decodeBodyTextFast(label, buf, true); ft != gt || fn != gn {
			t.Errorf("decodeBodyTextFast(%q, folded QP of %q) = %q %q, want %q %q", label, s, ft, fn, gt, gn)
		}
	}
}

func TestTextHelpersMatchReference(t *testing.T) {
	for _, s := range textHelperSeeds {
		checkTextHelpers(t, s)
	}
	for k := range usedHeaderKeys {
		for _, name := range []string{k, strings.ToLower(k), strings.ToUpper(k), k[:len(k)-1] + "_", "X" + k[1:], k + "s"} {
			if got, want := lookupUsedKey([]byte(name)), usedHeaderKey([]byte(name)); got != want {
				t.Errorf("lookupUsedKey(%q) = %q, usedHeaderKey %q", name, got, want)
			}
		}
	}
	for _, f := range parseCorpusFiles(t) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := Parse(raw)
		checkTextHelpers(t, m.Text)
		checkTextHelpers(t, m.HTML)
		for _, line := range bytes.Split(raw, []byte("\n")) {
			if name, colon := fieldKey(line); colon > 0 {
				if got, want := lookupUsedKey(name), usedHeaderKey(name); got != want {
					t.Errorf("%s: lookupUsedKey(%q) = %q, usedHeaderKey %q", f, name, got, want)
				}
			}
		}
	}
}

// FuzzTextHelpers holds unflow, htmlToText and tidyLines to their plain
// versions.
func FuzzTextHelpers(f *testing.F) {
	for _, s := range textHelperSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkTextHelpers(t, s)
	})
}
