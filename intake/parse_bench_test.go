package intake

import (
	"bytes"
	"encoding/base64"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// bigAttachmentMail builds a message of about size bytes: a short text and
// a base64 attachment that makes up the rest.
func bigAttachmentMail(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Piet Jansen <piet@example.nl>\r\nTo: loket@poraad.nl\r\n" +
		"Subject: Verslag met bijlage\r\nDate: Tue, 3 Feb 2026 11:26:48 +0100\r\n" +
		"Message-ID: <big-1@example.nl>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHierbij het verslag.\r\n" +
		"--b1\r\nContent-Type: application/pdf; name=\"verslag.pdf\"\r\n" +
		"Content-Disposition: attachment; filename=\"verslag.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	chunk := make([]byte, 57) // one 76-character line
	rng := rand.New(rand.NewSource(1))
	line := make([]byte, 76, 78)
	for b.Len() < size-100 {
		rng.Read(chunk)
		base64.StdEncoding.Encode(line[:76], chunk)
		b.Write(line[:76])
		b.WriteString("\r\n")
	}
	b.WriteString("--b1--\r\n")
	return b.Bytes()
}

// BenchmarkParseBigAttachment parses a 25 MB message with a base64
// attachment. The attachment is only counted, never held: B/op stays far
// below the message size.
func BenchmarkParseBigAttachment(b *testing.B) {
	raw := bigAttachmentMail(25 << 20)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		m := Parse(raw)
		if len(m.Attachments) != 1 {
			b.Fatalf("attachments: %+v", m.Attachments)
		}
	}
}

// TestParseBigAttachmentMemory checks that parsing a 25 MB message with a
// base64 attachment allocates a small fraction of it.
func TestParseBigAttachmentMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("25 MB message")
	}
	raw := bigAttachmentMail(25 << 20)
	Parse(raw) // warm up package state
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m := Parse(raw)
	runtime.ReadMemStats(&after)
	if len(m.Attachments) != 1 || m.Attachments[0].Size < 18<<20 {
		t.Fatalf("attachments: %+v", m.Attachments)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 2<<20 {
		t.Errorf("Parse of a %d-byte message allocated %d bytes", len(raw), got)
	} else {
		t.Logf("Parse of a %d-byte message allocated %d bytes", len(raw), got)
	}
}

// BenchmarkParseHeldout parses the held-out test mail, the mail that
// workflow's BenchmarkHandleBatch takes in, one message per iteration.
func BenchmarkParseHeldout(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(classifyHeldoutDir, "*.eml"))
	var mails [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		mails = append(mails, raw)
	}
	if len(mails) == 0 {
		b.Skip("no held-out mail")
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		Parse(mails[n%len(mails)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkDecodeBodies decodes the quoted-printable and base64 body
// text of the held-out test mail, as Parse does before the charset.
func BenchmarkDecodeBodies(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(classifyHeldoutDir, "*.eml"))
	type body struct {
		enc transferEncoding
		b   []byte
	}
	var bodies []body
	size := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for _, enc := range []transferEncoding{encQuotedPrintable, encBase64} {
			marker := []byte("Content-Transfer-Encoding: " + enc.String() + "\r\n\r\n")
			if i := bytes.Index(raw, marker); i >= 0 {
				part := raw[i+len(marker):]
				if j := bytes.Index(part, []byte("\r\n--")); j >= 0 {
					part = part[:j]
				}
				bodies = append(bodies, body{enc, part})
				size += len(part)
			}
		}
	}
	if len(bodies) == 0 {
		b.Skip("no held-out mail")
	}
	b.SetBytes(int64(size / len(bodies)))
	b.ReportAllocs()
	p := bodyBufs.Get().(*[]byte)
	n := 0
	for b.Loop() {
		var st decodeStats
		x := bodies[n%len(bodies)]
		*p, _ = decodeBodyBytesTo((*p)[:0], x.enc, x.b, &st, true)
		n++
	}
}
