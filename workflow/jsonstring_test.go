package workflow

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/poraad/loket/intake"
)

// jsonStringCases are strings whose JSON a word-at-a-time scan can get
// wrong: every byte value, alone and at each position of an 8-byte word;
// U+2028, U+2029, invalid and cut-off UTF-8 across word boundaries; long
// runs of plain ASCII ending in something to escape.
func jsonStringCases() []string {
	var cases []string
	for c := range 256 {
		for pad := range 17 {
			p := strings.Repeat("a", pad)
			cases = append(cases, p+string(rune(c))+p, p+string([]byte{byte(c)})+p,
				p+string([]byte{byte(c)}), string([]byte{byte(c)})+p)
		}
	}
	seqs := []string{
		"\u2028", "\u2029", "\u2027", "\u202a", "\xe2\x80", "\xe2", "\xe2\x80\xa8\xa8",
		"é", "ë", "\xc3", "\xc3\x28", "\xc0\xaf", "\xc1\xbf", "\xed\xa0\x80", "\xef\xbf\xbd",
		"\xf0\x9f\x98\x80", "\xf0\x9f\x98", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xfe\xff",
		"<", ">", "&", "\"", "\\", "\n", "\r\n", "\t", "\x00", "\x1f", "\x7f", " ",
	}
	for _, seq := range seqs {
		for pad := range 17 {
			p := strings.Repeat("x", pad)
			cases = append(cases, p+seq, seq+p, p+seq+p, p+seq+seq+p, p+seq+"é"+seq)
		}
	}
	for _, a := range seqs {
		for _, b := range seqs {
			cases = append(cases, a+b, "1234567"+a+b, a+"12345678"+b)
		}
	}
	line := "Geachte heer, mevrouw, financiën en ideeën voor het café. Één moment.\n"
	cases = append(cases, strings.Repeat(line, 40), strings.Repeat(line, 3)+"<b>&amp;</b>\xff",
		strings.Repeat("abcdefgh", 33)+"\u2028", strings.Repeat("abcdefgh", 33)+"\xe2\x80")
	return cases
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range jsonStringCases() {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
		// Appended to what is there, not over it.
		if got := appendJSONString([]byte("x"), s); !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Fatalf("appendJSONString(x, %q) = %s, want x%s", s, got, want)
		}
	}
}

// FuzzAppendJSONString holds appendJSONString to json.Marshal, with the
// fuzzed bytes also put after runs of plain ASCII of every length, so
// that they fall at each position of an 8-byte word.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "abc", "<>&\"\\\b\f\n\r\t\x00\x1f\x7f", "é\u2028\u2029\xff\xe2\x80",
		"1234567\u2028", "123456\xe2\x80\xa8x", "Financiën\nideeën <x@y.nl>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for pad := range 9 {
			s := strings.Repeat("a", pad) + s
			want, _ := json.Marshal(s)
			if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
				t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
			}
		}
	})
}

// BenchmarkAppendJSONString: the text body of a message, 2 KB of Dutch mail
// with some é and ë, a line break every 40 bytes or so and a few addresses
// in <>; appended to a buffer with room for it (reused), and to a new one
// of 256 bytes, as a message's JSON begins (grow).
func BenchmarkAppendJSONString(b *testing.B) {
	text := benchJSONText(b)
	b.Run("reused", func(b *testing.B) {
		buf := make([]byte, 0, 2*len(text))
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			buf = appendJSONString(buf[:0], text)
		}
	})
	b.Run("grow", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			appendJSONString(make([]byte, 0, 256), text)
		}
	})
}

// benchJSONText is 2 KB of the held-out test mail's text bodies.
func benchJSONText(b testing.TB) string {
	files, _ := filepath.Glob("../intake/testdata/classify/heldout/*.eml")
	var text strings.Builder
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		t := intake.Parse(raw).Text
		if strings.ContainsAny(t, "éë") {
			text.WriteString(t)
		}
		if text.Len() >= 2048 {
			break
		}
	}
	if text.Len() < 2048 {
		b.Skip("not enough test mail")
	}
	s := text.String()[:2048]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
