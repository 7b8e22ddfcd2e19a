package workflow

import (
	"hash/maphash"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/poraad/loket/intake"
)

// wordsCorpus is text to split into words: the text, HTML and subject of
// every test mail (the shared sample corpus, the held-out and extra
// classification mail, the parser's), the raw mail itself, and each text
// in capitals.
func wordsCorpus(t testing.TB) []string {
	var files []string
	for _, pattern := range []string{"../../shared/corpus/samples/*.eml", "../intake/testdata/classify/*/*.eml", "../intake/testdata/parse/*.eml"} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("no test mail")
	}
	var out []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := intake.Parse(raw)
		for _, s := range []string{m.Text, m.HTML, m.Subject, string(raw)} {
			out = append(out, s, strings.ToUpper(s))
		}
	}
	return out
}

// TestWordsMatchReference holds Words and wordList to the implementation
// before they read text in blocks of 64 bytes (refWords, below) on the
// test mail, with the text moved by 0 to 8 bytes and cut at every few
// bytes, so that words fall at every position of an 8-byte word and at
// the end of the text.
func TestWordsMatchReference(t *testing.T) {
	for _, text := range wordsCorpus(t) {
		for pad := range 9 {
			s := strings.Repeat(" ", pad) + text
			checkWordsReference(t, s)
			if pad == 0 {
				for end := 0; end < min(len(s), 400); end += 1 + end/40 {
					checkWordsReference(t, s[:end])
				}
			}
		}
	}
}

// TestWordsRandom: Words and wordList against the reference on random
// text of the pieces a block scan can get wrong: runs of letters and
// digits of every length, capitals, letters not ASCII before and after
// ASCII ones (and the Kelvin sign, which lower-cases to ASCII), separators
// not ASCII, invalid UTF-8.
func TestWordsRandom(t *testing.T) {
	pieces := []string{"a", "b", "z", "Q", "Z", "0", "9", " ", "  ", ".", ", ", "\n", "-", "@", "[", "`", "{",
		"é", "Ë", "ü", "ß", "\u212a", "İ", "—", "\u2028", "’", "\xff", "\xc3", "\xe2\x80", "日本",
		"abcdefgh", "ABCDEFGH", "Financiën", "praktijktoets", strings.Repeat("x", 39), strings.Repeat("Y", 41)}
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for range 20000 {
		b.Reset()
		for range rng.IntN(60) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		checkWordsReference(t, b.String())
	}
}

func checkWordsReference(t *testing.T, s string) {
	t.Helper()
	if got, want := Words(s), refWords(s); !slices.Equal(got, want) {
		t.Fatalf("Words(%q) = %q, want %q", s, got, want)
	}
	if got, want := wordList(s), refWordList(s); string(got) != string(want) {
		t.Fatalf("wordList(%q) = %q, want %q", s, got, want)
	}
}

// FuzzWordsReference: Words and wordList against refWords and
// refWordList, with the text moved by 0 to 8 bytes.
func FuzzWordsReference(f *testing.F) {
	for _, s := range []string{"", "Clinic over het plan", "Één ÉÉN één, café-Über 2026 x y", "\xff\xfeab cd\xc3",
		"ABCDEFGH abcdefghi ABCDEFGHIJKLMNOP abcdefghijklmnopq A1 a\u2028b", "de de DE De dE het HET",
		strings.Repeat("Ab", 30) + " " + strings.Repeat("é", 50), "Wij melden ons aan voor de praktijktoets.\nFinanciën, ideeën."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for pad := range 9 {
			checkWordsReference(t, strings.Repeat(".", pad)+s)
		}
	})
}

// BenchmarkWordsCorpus: wordList of the text of every test mail, and the
// implementation before it (reference).
func BenchmarkWordsCorpus(b *testing.B) {
	var texts []string
	for _, pattern := range []string{"../../shared/corpus/samples/*.eml", "../intake/testdata/classify/heldout/*.eml"} {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			texts = append(texts, intake.Parse(raw).Text)
		}
	}
	if len(texts) == 0 {
		b.Skip("no test mail")
	}
	for _, bc := range []struct {
		name string
		fn   func(string) []byte
	}{{"wordList", wordList}, {"reference", refWordList}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				for _, t := range texts {
					bc.fn(t)
				}
			}
		})
	}
}

// The words of a text as Words and wordList found them before they read
// text in blocks of 64 bytes: the reference of TestWordsMatchReference.

// Words splits text into unique lower-case words of letters and digits, in
// order of first appearance. (FuzzWords holds it to the plain version:
// strings.ToLower, strings.FieldsFunc, a map.)
//
// A word that is lower case in text already is a substring of it; the
// others are lower-cased into one buffer that becomes one string at the
// end. Until then words are refs (refWordRef) into text or that buffer, kept
// in a pooled table, so a message costs two allocations: the result and
// the string of its lower-cased words.
func refWords(text string) []string {
	ws := refScanWords(text)
	out := make([]string, len(ws.order))
	var lowered string
	if len(ws.buf) > 0 {
		lowered = string(ws.buf)
	}
	for i, r := range ws.order {
		off, end := r.span()
		if r&refRefInBuf != 0 {
			out[i] = lowered[off:end]
		} else {
			out[i] = ws.text[off:end]
		}
	}
	ws.release()
	return out
}

// wordList is what a new ticket's words record holds: the first
// maxWordsPerTicket of Words(text), separated by spaces, in one
// allocation.
func refWordList(text string) []byte {
	ws := refScanWords(text)
	order := ws.order[:min(len(ws.order), maxWordsPerTicket)]
	n := max(len(order)-1, 0)
	for _, r := range order {
		n += int(r & 0xff)
	}
	list := make([]byte, 0, n)
	for i, r := range order {
		if i > 0 {
			list = append(list, ' ')
		}
		off, end := r.span()
		if r&refRefInBuf != 0 {
			list = append(list, ws.buf[off:end]...)
		} else {
			list = append(list, ws.text[off:end]...)
		}
	}
	ws.release()
	return list
}

// refScanWords finds the words of text; the caller releases the wordScan.
func refScanWords(text string) *refWordScan {
	ws := refWordScans.Get().(*refWordScan)
	ws.reset(text, len(text)/8)
	for i := 0; i < len(text); {
		start, upper, ascii := i, false, true
	scan:
		for i < len(text) {
			c := text[i]
			if c < utf8.RuneSelf {
				switch {
				case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
				case 'A' <= c && c <= 'Z':
					upper = true
				default:
					break scan
				}
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(text[i:])
			if refNotWordRune(r) {
				break
			}
			ascii = false
			i += size
		}
		switch n := i - start; {
		case n == 0:
			i++ // a separator: ASCII, or the first byte of one (DecodeRune resyncs)
		case n < 2:
		case ascii && !upper:
			ws.add(refTextRef(start, min(n, maxWordRunes)))
		case ascii:
			mark := len(ws.buf)
			for _, c := range []byte(text[start : start+min(n, maxWordRunes)]) {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				ws.buf = append(ws.buf, c)
			}
			ws.addBuf(mark)
		default:
			ws.lowerRun(start, i)
		}
	}
	return ws
}

func refNotWordRune(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// refWordRef is a word of Words: its length in the low 8 bits (at most
// maxWordRunes runes of 4 bytes), its offset above them, and the top bit
// set when it lies in wordScan.buf rather than in the text. 0 is no word.
type refWordRef uint64

const refRefInBuf = refWordRef(1) << 63

func refTextRef(off, n int) refWordRef { return refWordRef(off)<<8 | refWordRef(n) }

func (r refWordRef) span() (off, end int) {
	off = int(r &^ refRefInBuf >> 8)
	return off, off + int(r&0xff)
}

// wordScan is the working state of one Words call, reused through
// refWordScans.
type refWordScan struct {
	text  string
	buf   []byte       // lower-cased words
	order []refWordRef // the words in order of first appearance
	// slots is a set of words with open addressing on maphash: Words adds
	// hundreds of words per message, which a Go map makes its biggest
	// cost.
	slots []refWordRef
	n     int
}

var refWordScans = sync.Pool{New: func() any { return new(refWordScan) }}

var refWordSeed = maphash.MakeSeed()

func (ws *refWordScan) reset(text string, words int) {
	size := 64
	for size < 2*words {
		size <<= 1
	}
	if cap(ws.slots) < size {
		ws.slots = make([]refWordRef, size)
	} else {
		ws.slots = ws.slots[:size]
		clear(ws.slots)
	}
	ws.text, ws.buf, ws.order, ws.n = text, ws.buf[:0], ws.order[:0], 0
}

// release puts ws back in the pool.
func (ws *refWordScan) release() {
	ws.text = ""
	// A huge message leaves no huge buffers behind.
	if cap(ws.slots) > 1<<16 {
		ws.slots = nil
	}
	if cap(ws.buf) > 1<<16 {
		ws.buf = nil
	}
	if cap(ws.order) > 1<<14 {
		ws.order = nil
	}
	refWordScans.Put(ws)
}

// lowerRun adds the words of text[start:end], a run of letters and digits
// with some not ASCII: lower-cased as strings.ToLower does (rune by rune),
// which can make separators of some.
func (ws *refWordScan) lowerRun(start, end int) {
	field, runes, changed, mark := -1, 0, false, 0
	done := func() {
		switch {
		case field < 0:
		case runes < 2:
			ws.buf = ws.buf[:mark]
		case !changed: // as in the text: refer to it
			n := len(ws.buf) - mark
			ws.buf = ws.buf[:mark]
			ws.add(refTextRef(field, n))
		default:
			ws.addBuf(mark)
		}
		field = -1
	}
	for i := start; i < end; {
		r, size := utf8.DecodeRuneInString(ws.text[i:])
		lr := unicode.ToLower(r)
		if refNotWordRune(lr) {
			done()
			i += size
			continue
		}
		if field < 0 {
			field, runes, changed, mark = i, 0, false, len(ws.buf)
		}
		if runes++; runes <= maxWordRunes {
			ws.buf = utf8.AppendRune(ws.buf, lr)
			changed = changed || lr != r
		}
		i += size
	}
	done()
}

// addBuf adds the word at buf[mark:], or drops it from buf when it is
// there already.
func (ws *refWordScan) addBuf(mark int) {
	if !ws.add(refRefInBuf | refTextRef(mark, len(ws.buf)-mark)) {
		ws.buf = ws.buf[:mark]
	}
}

func (ws *refWordScan) hash(r refWordRef) uint64 {
	off, end := r.span()
	if r&refRefInBuf != 0 {
		return maphash.Bytes(refWordSeed, ws.buf[off:end])
	}
	return maphash.String(refWordSeed, ws.text[off:end])
}

func (ws *refWordScan) equal(a, b refWordRef) bool {
	if a&0xff != b&0xff {
		return false
	}
	aOff, aEnd := a.span()
	bOff, bEnd := b.span()
	switch {
	case a&refRefInBuf == 0 && b&refRefInBuf == 0:
		return ws.text[aOff:aEnd] == ws.text[bOff:bEnd]
	case a&refRefInBuf != 0 && b&refRefInBuf != 0:
		return string(ws.buf[aOff:aEnd]) == string(ws.buf[bOff:bEnd])
	case a&refRefInBuf != 0:
		return string(ws.buf[aOff:aEnd]) == ws.text[bOff:bEnd]
	default:
		return ws.text[aOff:aEnd] == string(ws.buf[bOff:bEnd])
	}
}

// add adds w and reports whether it was new.
func (ws *refWordScan) add(w refWordRef) bool {
	if 2*(ws.n+1) > len(ws.slots) {
		old := ws.slots
		ws.slots, ws.n = make([]refWordRef, 2*len(old)), 0
		for _, o := range old {
			if o != 0 {
				ws.insert(o)
			}
		}
	}
	if !ws.insert(w) {
		return false
	}
	ws.order = append(ws.order, w)
	return true
}

func (ws *refWordScan) insert(w refWordRef) bool {
	mask := uint64(len(ws.slots) - 1)
	for i := ws.hash(w) & mask; ; i = (i + 1) & mask {
		switch o := ws.slots[i]; {
		case o == 0:
			ws.slots[i] = w
			ws.n++
			return true
		case ws.equal(o, w):
			return false
		}
	}
}
