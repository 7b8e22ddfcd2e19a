package intake

import (
	"math/bits"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// The classifier's phrase matching, indexed. Every word pattern of every
// rule (terms, intents, deferring and past phrases, near rules) is interned
// once at NewClassifier in a wordIndex. A document then works out, once per
// distinct token, which word patterns match it (an exact-word map and maps
// of the prefixes and suffixes that '*' patterns name), and lists per word
// pattern the positions it matches. Finding a phrase is then a walk over the
// positions of its first word instead of a scan of every token for every
// term; which clauses hold an intent, a deferring or a past phrase is known
// once per document. The results are those of the plain scan, in the same
// order (TestClassifyGolden).

// wordIndex interns the word patterns of a Classifier.
type wordIndex struct {
	pats       []wordPat
	ids        map[wordPat]int
	exact      map[string][]int
	prefix     map[string][]int // pattern "s*"
	suffix     map[string][]int // pattern "*s"
	prefixLens []int
	suffixLens []int
	contains   []int // pattern "*s*"
}

func newWordIndex() *wordIndex {
	return &wordIndex{ids: map[wordPat]int{}, exact: map[string][]int{},
		prefix: map[string][]int{}, suffix: map[string][]int{}}
}

// intern returns the id of w, adding it when new.
func (x *wordIndex) intern(w wordPat) int {
	if id, ok := x.ids[w]; ok {
		return id
	}
	id := len(x.pats)
	x.pats = append(x.pats, w)
	x.ids[w] = id
	switch {
	case w.anyPre && w.anySu:
		x.contains = append(x.contains, id)
	case w.anySu:
		x.prefix[w.s] = append(x.prefix[w.s], id)
		if !slices.Contains(x.prefixLens, len(w.s)) {
			x.prefixLens = append(x.prefixLens, len(w.s))
			slices.Sort(x.prefixLens)
		}
	case w.anyPre:
		x.suffix[w.s] = append(x.suffix[w.s], id)
		if !slices.Contains(x.suffixLens, len(w.s)) {
			x.suffixLens = append(x.suffixLens, len(w.s))
			slices.Sort(x.suffixLens)
		}
	default:
		x.exact[w.s] = append(x.exact[w.s], id)
	}
	return id
}

// internPattern fills p.ids.
func (x *wordIndex) internPattern(p *pattern) {
	p.ids = make([]int, len(p.words))
	for i, w := range p.words {
		p.ids[i] = x.intern(w)
	}
}

func (x *wordIndex) internWords(ws []wordPat) []int {
	ids := make([]int, len(ws))
	for i, w := range ws {
		ids[i] = x.intern(w)
	}
	return ids
}

// matches sets in set the bit of every word pattern that matches tok.
func (x *wordIndex) matches(tok string, set []uint64) {
	mark := func(ids []int) {
		for _, id := range ids {
			set[id>>6] |= 1 << (id & 63)
		}
	}
	mark(x.exact[tok])
	for _, l := range x.prefixLens {
		if l > len(tok) {
			break
		}
		mark(x.prefix[tok[:l]])
	}
	for _, l := range x.suffixLens {
		if l > len(tok) {
			break
		}
		mark(x.suffix[tok[len(tok)-l:]])
	}
	for _, id := range x.contains {
		if strings.Contains(tok, x.pats[id].s) {
			set[id>>6] |= 1 << (id & 63)
		}
	}
}

// Clause flags: which phrases a clause holds.
const (
	clauseIntent = 1 << iota
	clauseDefer
	clausePast
)

// docIndex is what a document knows of the classifier's word patterns.
type docIndex struct {
	words    int            // uint64s per set
	flat     []uint64       // per distinct token a set of words uint64s
	seen     map[string]int // distinct token → its set in flat
	tokSet   []int          // per position: which set in flat
	at       [][]int        // per word pattern id: positions, ascending
	clause   []uint8        // per clause number: clause flags
	intentAt []int          // per position: first intent phrase matching there, or -1
	touched  []int          // word pattern ids with positions in at
	ids      []int          // scratch
}

// tokenBufs reuses token lists between documents.
var tokenBufs = sync.Pool{New: func() any { return new([]token) }}

// docIndexes reuses the buffers of docIndex between documents: indexing
// then allocates next to nothing.
var docIndexes = sync.Pool{New: func() any { return &docIndex{seen: map[string]int{}} }}

// index builds d.ix for the word patterns of c. release gives its buffers
// back; d must not be used after it.
func (c *Classifier) index(d *doc) (release func()) {
	x := c.words
	ix := docIndexes.Get().(*docIndex)
	ix.words = (len(x.pats) + 63) / 64
	if len(ix.at) < len(x.pats) {
		ix.at = make([][]int, len(x.pats))
	}
	for _, id := range ix.touched {
		ix.at[id] = ix.at[id][:0]
	}
	ix.touched = ix.touched[:0]
	clear(ix.seen)
	ix.flat = ix.flat[:0]
	ix.tokSet = ix.tokSet[:0]
	ids := ix.ids[:0]
	maxClause := 0
	for i, t := range d.toks {
		maxClause = max(maxClause, t.clause)
		k, ok := ix.seen[t.w]
		if !ok {
			k = len(ix.flat) / ix.words
			ix.flat = append(ix.flat, make([]uint64, ix.words)...)
			x.matches(t.w, ix.flat[k*ix.words:])
			ix.seen[t.w] = k
		}
		ix.tokSet = append(ix.tokSet, k)
		ids = ids[:0]
		for wi, set := range ix.flat[k*ix.words : (k+1)*ix.words] {
			for set != 0 {
				b := bits.TrailingZeros64(set)
				ids = append(ids, wi*64+b)
				set &= set - 1
			}
		}
		for _, id := range ids {
			if len(ix.at[id]) == 0 {
				ix.touched = append(ix.touched, id)
			}
			ix.at[id] = append(ix.at[id], i)
		}
	}
	ix.ids = ids
	d.ix = ix
	ix.clause = slices.Grow(ix.clause[:0], maxClause+1)[:maxClause+1]
	clear(ix.clause)
	ix.intentAt = slices.Grow(ix.intentAt[:0], len(d.toks))[:len(d.toks)]
	for i := range ix.intentAt {
		ix.intentAt[i] = -1
	}
	for _, l := range [...]struct {
		flag uint8
		list []pattern
	}{{clauseIntent, c.intents}, {clauseDefer, c.defers}, {clausePast, c.pasts}} {
		flag := l.flag
		for j, p := range l.list {
			for _, i := range ix.at[p.ids[0]] {
				if !d.matchAt(p, i) {
					continue
				}
				ix.clause[d.toks[i].clause] |= flag
				if flag == clauseIntent && ix.intentAt[i] < 0 {
					ix.intentAt[i] = j
				}
			}
		}
	}
	return func() {
		d.ix = nil
		if len(ix.seen) > 4096 || len(ix.flat) > 1<<16 {
			return // a huge document: let its buffers go
		}
		docIndexes.Put(ix)
	}
}

// has reports whether the token at position i matches word pattern id.
func (ix *docIndex) has(i, id int) bool {
	return ix.flat[ix.tokSet[i]*ix.words+id>>6]&(1<<(id&63)) != 0
}

func (ix *docIndex) hasAny(i int, ids []int) bool {
	for _, id := range ids {
		if ix.has(i, id) {
			return true
		}
	}
	return false
}

// mayHaveURL reports whether urlRe can match in s: it needs "://" or
// "www." in any case.
func mayHaveURL(s string) bool {
	if strings.Contains(s, "://") {
		return true
	}
	for i := strings.IndexByte(s, '.'); i >= 0; {
		if i >= 3 && strings.EqualFold(s[i-3:i], "www") {
			return true
		}
		j := strings.IndexByte(s[i+1:], '.')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// foldASCII is foldText for ASCII text, without copying text that has no
// upper case. ok is false when s has a non-ASCII byte.
func foldASCII(s string) (string, bool) {
	var b []byte // nil until an upper-case letter is seen
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			return "", false
		case 'A' <= c && c <= 'Z':
			if b == nil {
				b = []byte(s)
			}
			b[i] = c + 'a' - 'A'
		}
	}
	if b == nil {
		return s, true
	}
	return string(b), true
}

// hasWords reports whether s holds at least n words as wordsOf counts
// them, without building the list.
func hasWords(s string, n int) bool {
	return countWordsFold(s, n) >= n
}

// countWordsFold counts the words of foldText(s) as wordsOf splits them,
// stopping at n, folding rune by rune as writeFolded does without building
// the folded text.
func countWordsFold(s string, n int) int {
	count, in := 0, false
	step := func(r rune) bool {
		if r != '_' && isWordRune(r) {
			if !in {
				count++
			}
			in = true
		} else {
			in = false
		}
		return count >= n
	}
	for _, r := range s {
		if r < 0x80 {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			if step(r) {
				return count
			}
			continue
		}
		f, ok := foldMap[r]
		if !ok {
			lr := unicode.ToLower(r)
			if f, ok = foldMap[lr]; !ok {
				if step(lr) {
					return count
				}
				continue
			}
		}
		for _, fr := range f {
			if step(fr) {
				return count
			}
		}
	}
	return count
}

func hasASCIIDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if isASCIIDigit(s[i]) {
			return true
		}
	}
	return false
}

// foldPrefix is a prefix of foldText(s) of at least n bytes, or all of it
// when it is shorter: folding goes rune by rune, so the prefixes agree.
func foldPrefix(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= n {
			break
		}
		writeFolded(&b, r)
	}
	return b.String()
}

var disclaimerMaxLen = func() int {
	n := 0
	for _, p := range disclaimerPhrases {
		n = max(n, len(p))
	}
	return n
}()

// moreFieldsThan reports whether len(strings.Fields(s)) > n.
func moreFieldsThan(s string, n int) bool {
	count, in := 0, false
	for _, r := range s {
		if unicode.IsSpace(r) {
			in = false
			continue
		}
		if !in {
			count++
			if count > n {
				return true
			}
		}
		in = true
	}
	return false
}

// phraseIndex finds which of a list of phrases occurs first in the list's
// order in one pass over the text, instead of one strings.Contains each.
type phraseIndex struct {
	phrases []string
	byStart map[[2]byte][]int
	starts  [1 << 16 / 64]uint64 // bit per two first bytes in byStart
	short   []int                // phrases of fewer than 2 bytes
}

func newPhraseIndex(phrases []string) *phraseIndex {
	x := &phraseIndex{phrases: phrases, byStart: map[[2]byte][]int{}}
	for i, p := range phrases {
		if len(p) < 2 {
			x.short = append(x.short, i)
			continue
		}
		k := [2]byte{p[0], p[1]}
		x.byStart[k] = append(x.byStart[k], i)
		b := int(p[0])<<8 | int(p[1])
		x.starts[b>>6] |= 1 << (b & 63)
	}
	return x
}

// first returns the phrase of lowest index that s contains.
func (x *phraseIndex) first(s string) (string, bool) {
	best := len(x.phrases)
	for _, i := range x.short {
		if i < best && strings.Contains(s, x.phrases[i]) {
			best = i
		}
	}
	for i := 0; i+1 < len(s) && best > 0; i++ {
		if b := int(s[i])<<8 | int(s[i+1]); x.starts[b>>6]&(1<<(b&63)) == 0 {
			continue
		}
		for _, j := range x.byStart[[2]byte{s[i], s[i+1]}] {
			if j < best && strings.HasPrefix(s[i:], x.phrases[j]) {
				best = j
			}
		}
	}
	if best == len(x.phrases) {
		return "", false
	}
	return x.phrases[best], true
}

var autoBodyIndex = newPhraseIndex(autoBodyPhrases)

// Replacers built once rather than per line (isSignOff, lineSegments).
var (
	signOffPunct      = strings.NewReplacer(",", " ", ".", " ", "!", " ")
	segmentSeparators = strings.NewReplacer("\t", " | ", " • ", " | ", " · ", " | ", " ¦ ", " | ", " - ", " | ", " – ", " | ")
)
