package intake

import (
	"bytes"
	"io"
	"mime"
	netmail "net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// parseCorpusFiles lists every message of the test corpora: our own test
// mail and the shared corpus and seed, where present.
func parseCorpusFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, root := range []string{"testdata", filepath.Dir(parseCorpusDir), filepath.Join(filepath.Dir(parseCorpusDir), "seed")} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return filepath.SkipDir
				}
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(p, ".eml") || strings.HasSuffix(p, ".txt")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("list %s: %v", root, err)
		}
	}
	return files
}

// diffMessages returns the fields in which two parsed messages differ. Dates
// are equal when they are the same instant in the same zone.
func diffMessages(a, b *Message) []string {
	var diffs []string
	va, vb := reflect.ValueOf(*a), reflect.ValueOf(*b)
	for i := 0; i < va.NumField(); i++ {
		name := va.Type().Field(i).Name
		fa, fb := va.Field(i).Interface(), vb.Field(i).Interface()
		if ta, ok := fa.(time.Time); ok {
			tb := fb.(time.Time)
			na, oa := ta.Zone()
			nb, ob := tb.Zone()
			if !ta.Equal(tb) || na != nb || oa != ob || ta.Location().String() != tb.Location().String() {
				diffs = append(diffs, name+": "+ta.String()+" != "+tb.String())
			}
			continue
		}
		if !reflect.DeepEqual(fa, fb) {
			diffs = append(diffs, name)
		}
	}
	return diffs
}

// checkFastMatchesGeneric fails when Parse's fast paths give another
// message than the generic code alone.
func checkFastMatchesGeneric(t *testing.T, name string, raw []byte) {
	t.Helper()
	fast, generic := parse(raw, true), parse(raw, false)
	for _, d := range diffMessages(fast, generic) {
		t.Errorf("%s: fast and generic parse differ in %s", name, d)
	}
}

// TestParseFastMatchesGeneric compares the fast paths with the generic
// code on every message of the corpora, as sent and with CRLF line ends.
func TestParseFastMatchesGeneric(t *testing.T) {
	files := parseCorpusFiles(t)
	if len(files) < 100 {
		t.Fatalf("only %d corpus files found", len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkFastMatchesGeneric(t, f, raw)
		checkFastMatchesGeneric(t, f+" (CRLF)", bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n")))
	}
}

// TestParseFastPathsTaken makes sure the fast paths are the ones that run on
// ordinary values, so that the comparison above is not vacuous.
func TestParseFastPathsTaken(t *testing.T) {
	if _, ok := fastAddressList(`"Jansen, Piet" <Piet@Example.nl>, kees@example.nl, An de Vries <an@x.nl>`); !ok {
		t.Error("fastAddressList declined a plain list")
	}
	if _, ok := fastMsgIDs("<a.b@c.d> <e@f>", false); !ok {
		t.Error("fastMsgIDs declined plain msg-ids")
	}
	if _, ok := fastMediaHeader(`text/plain; charset="utf-8"; format=flowed`); !ok {
		t.Error("fastMediaHeader declined a plain Content-Type")
	}
	if _, err := parseDate("Tue, 3 Feb 2026 11:26:48 +0100", true); err != nil {
		t.Error(err)
	}
}

// checkFastHelpers holds each fast helper to its generic twin on s.
func checkFastHelpers(t *testing.T, s string) {
	t.Helper()
	b := []byte(s)

	// Transfer decoding.
	var stFast, stGen decodeStats
	gen, _ := io.ReadAll(&qpReader{src: b, st: &stGen})
	if got := decodeQP(b, &stFast); !bytes.Equal(got, gen) || stFast != stGen {
		t.Errorf("decodeQP(%q) = %q %+v, qpReader %q %+v", s, got, stFast, gen, stGen)
	}
	for _, enc := range []transferEncoding{encIdentity, encQuotedPrintable, encBase64, encUUEncode} {
		stFast, stGen = decodeStats{}, decodeStats{}
		gen, _ := io.ReadAll(io.LimitReader(newTransferReader(enc, b, &stGen), maxTextBytes+1))
		if got := decodeBodyBytes(enc, b, &stFast); !bytes.Equal(got, gen) || stFast != stGen {
			t.Errorf("decodeBodyBytes(%s, %q) = %q %+v, want %q %+v", enc, s, got, stFast, gen, stGen)
		}
		stFast, stGen = decodeStats{}, decodeStats{}
		n, _ := io.Copy(io.Discard, newTransferReader(enc, b, &stGen))
		if got := decodedSize(enc, b, &stFast); got != n || stFast != stGen {
			t.Errorf("decodedSize(%s, %q) = %d %+v, want %d %+v", enc, s, got, stFast, n, stGen)
		}
	}

	// Text.
	if got, want := foldLineEndings(b), lineEndings.Replace(s); got != want {
		t.Errorf("foldLineEndings(%q) = %q, want %q", s, got, want)
	}
	if out, err := charmap.Windows1252.NewDecoder().Bytes(b); err == nil {
		if got := windows1252ToUTF8(b); got != string(out) {
			t.Errorf("windows1252ToUTF8(%q) = %q, want %q", s, got, out)
		}
	}
	for _, label := range []string{"", "utf-8", "iso-8859-1", "windows-1252", "koi8-r"} {
		gt, gn := decodeCharset(label, b)
		gt = lineEndings.Replace(gt)
		if ft, fn := decodeBodyText(label, b, true); ft != gt || fn != gn {
			t.Errorf("decodeBodyText(%q, %q) = %q %q, want %q %q", label, s, ft, fn, gt, gn)
		}
	}
	if got, want := cleanHeaderText(s), cleanHeaderTextGeneric(s); got != want {
		t.Errorf("cleanHeaderText(%q) = %q, want %q", s, got, want)
	}
	if got, want := cleanText(s), strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", ""); got != want {
		t.Errorf("cleanText(%q) = %q, want %q", s, got, want)
	}

	// Header field names.
	if got, want := usedHeaderKey(b), usedHeaderKeys[textproto.CanonicalMIMEHeaderKey(s)]; got != want {
		t.Errorf("usedHeaderKey(%q) = %q, want %q", s, got, want)
	}

	// Header values.
	if !utf8.ValidString(s) || len(s) > 4096 {
		return
	}
	if got, want := parseAddresses(s, true), parseAddresses(s, false); !reflect.DeepEqual(got, want) {
		t.Errorf("parseAddresses(%q) = %#v, generic %#v", s, got, want)
	}
	if got, want := parseMediaHeader(s, true), parseMediaHeader(s, false); got.mediaType != want.mediaType || got.broken != want.broken || !reflect.DeepEqual(paramMap(got), paramMap(want)) {
		t.Errorf("parseMediaHeader(%q) = %#v, generic %#v", s, got, want)
	}
	ft, ferr := parseDate(s, true)
	gt, gerr := netmail.ParseDate(s)
	if (ferr == nil) != (gerr == nil) || !ft.Equal(gt) || ft.Location().String() != gt.Location().String() {
		t.Errorf("parseDate(%q) = %v %v, net/mail %v %v", s, ft, ferr, gt, gerr)
	}
	h := partHeader{fields: []headerField{{"Message-Id", s}, {"References", s}}}
	if got, want := parseMessageID(h, true), parseMessageID(h, false); got != want {
		t.Errorf("parseMessageID(%q) = %q, generic %q", s, got, want)
	}
	if got, want := parseMessageIDList(h, "References", true), parseMessageIDList(h, "References", false); !reflect.DeepEqual(got, want) {
		t.Errorf("parseMessageIDList(%q) = %q, generic %q", s, got, want)
	}
	if id, err := goMessageHeader("Message-Id", s).MessageID(); err == nil {
		if ids, ok := fastMsgIDs(s, true); ok && ids[0] != id {
			t.Errorf("fastMsgIDs(%q) = %q, go-message %q", s, ids[0], id)
		}
	}
	if mt, params, err := mime.ParseMediaType(s); err == nil && !strings.ContainsAny(s, "*") {
		if got, ok := fastMediaHeader(s); ok && (got.mediaType != strings.ToLower(mt) || len(paramMap(got)) != len(params)) {
			t.Errorf("fastMediaHeader(%q) = %#v, mime %q %q", s, got, mt, params)
		}
	}
}

// paramMap returns the parameters of mh as a map, however they are held.
func paramMap(mh mediaHeader) map[string]string {
	m := map[string]string{}
	for k, v := range mh.params {
		m[k] = v
	}
	for _, p := range mh.few[:mh.nFew] {
		m[p.name] = p.value
	}
	return m
}

// cleanHeaderTextGeneric is cleanHeaderText without its shortcut.
func cleanHeaderTextGeneric(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == 0:
			return -1
		case r == '\r' || r == '\n' || r == '\t':
			return ' '
		case r >= 0x80 && r <= 0x9f:
			return charmap.Windows1252.DecodeByte(byte(r))
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

var fastHelperSeeds = []string{
	"message-id", "MIME-Version", "CC", "x-ms-exchange-message-is-ndr", "Content-type", "Received", "subject ", "X-Mailer2",
	"", "=", "==", "=4", "=41", "=4g", "a=\n", "a= \r\nb", "a=\rb", "a= x", "a  \n b\t\r\n", "x \t", " =20\n",
	"caf=C3=A9 =\r\n", "QUJD", "QUJD\nRA==", "QU=JD", "QUJ", "Q", "!!QUJD", "begin 644 x\n#86)C\n`\nend\n",
	"a\r\r\nb\r\rc\r\n\r", "\x80\x81\x8d\x9f\xa0\xe9\xff", "caf\xc3\xa9", "\xc2\x85x\x00\t",
	"Piet <p@x.nl>", `"Jansen, Piet" <P@X.nl>, a@b`, "a@b,,c@d,", "a..b@c", ".a@b", "a@b.", "Name <a@b> x",
	"<a@b>", "A B  C <a@b.c>", `"" <a@b>`, `"a"b <c@d>`, "a@b (Name)", "Group: a@b;", "a @b", "<a@b >",
	"text/plain", "TEXT/Plain ; charset=\"UTF-8\" ;", "text/plain;charset=utf-8;charset=utf-8", "text/plain; a=1; a=2",
	"text", "text/", "/plain", "text/plain; =x", "text/plain; a=", `text/plain; a=""`, "text/plain; a=\"x;y\"", "attachment; filename=a.pdf",
	"Tue, 3 Feb 2026 11:26:48 +0100", "Tue, 03 Feb 2026 11:26:48 -0000", "Tue, 3 Feb 26 11:26 +0100",
	"Mon, 2 Jan 2006 15:04:05 -0700 (MST)", "Xyz, 2 Jan 2006 15:04:05 +0100", "3 Feb 2026 11:26:48 +0100",
	"Tue, 30 Feb 2026 11:26:48 +0100", "Tue, 3 Feb 2026 25:26:48 +0100",
	"<a@b> <c@d>", "<a@b><c@d>", " <a.b@c.d> ", "<a@[1.2.3.4]>", "<@b>", "<a@>", "<a@b", "<a@b> junk", "(c) <a@b>",
}

func TestFastHelpersMatchGeneric(t *testing.T) {
	for _, s := range fastHelperSeeds {
		checkFastHelpers(t, s)
	}
}

// FuzzParseFastPaths holds every fast helper to its generic twin.
func FuzzParseFastPaths(f *testing.F) {
	for _, s := range fastHelperSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkFastHelpers(t, s)
	})
}

// TestHeaderKeysCanonical checks that parse.go looks header fields up by
// canonical keys that readHeader keeps, as partHeader requires.
func TestHeaderKeysCanonical(t *testing.T) {
	src, err := os.ReadFile("parse.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?:\.(?:Get|Values|Has)\(|joinValues\(h, |parseMessageIDList\(h, |\[\]string\{)"([A-Za-z-]+)"`)
	n := 0
	for _, m := range re.FindAllSubmatch(src, -1) {
		k := string(m[1])
		n++
		if c := textproto.CanonicalMIMEHeaderKey(k); c != k {
			t.Errorf("parse.go looks up %q; the canonical key is %q", k, c)
		}
		if usedHeaderKeys[k] == "" {
			t.Errorf("parse.go looks up %q, which readHeader does not keep (usedHeaderKeys)", k)
		}
	}
	if n < 15 {
		t.Errorf("only %d header lookups found", n)
	}
}
