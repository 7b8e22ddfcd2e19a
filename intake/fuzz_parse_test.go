package intake

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse and ExtractAttachment survive any input: no
// panic, a message every time, valid UTF-8 throughout, the same message
// with and without the fast paths, and every listed attachment extractable
// with the size Parse gave it.
func FuzzParse(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{
		filepath.Join("testdata", "parse", "*.eml"),
		filepath.Join(parseCorpusDir, "realworld", "*.eml"),
		filepath.Join(parseCorpusDir, "samples", "*.eml"),
	} {
		files, _ := filepath.Glob(pattern) // absent corpus: no seeds from it
		seeds = append(seeds, files...)
	}
	for _, path := range seeds {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("Subject: x\nContent-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: message/rfc822\n\n--a--\n"))

	f.Fuzz(func(t *testing.T, raw []byte) {
		m := Parse(raw)
		checkParseInvariants(t, "fuzz", m)
		checkFastMatchesGeneric(t, "fuzz", raw)
		if m.Size != int64(len(raw)) {
			t.Errorf("Size = %d, want %d", m.Size, len(raw))
		}
		for _, want := range m.Attachments {
			got, err := ExtractAttachment(raw, want.Index, io.Discard)
			if err != nil {
				if strings.Contains(err.Error(), "internal parser error") {
					t.Fatalf("ExtractAttachment(%d): %v", want.Index, err)
				}
				t.Errorf("ExtractAttachment(%d): %v", want.Index, err)
				continue
			}
			if got != want {
				t.Errorf("ExtractAttachment(%d) = %+v, Parse listed %+v", want.Index, got, want)
			}
		}
		if _, err := ExtractAttachment(raw, len(m.Attachments), io.Discard); !errors.Is(err, ErrAttachmentNotFound) {
			t.Errorf("ExtractAttachment past the end: %v", err)
		}
	})
}
