package intake

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// The classifier's phrase matching, indexed. Every word pattern of every
// rule (terms, intents, deferring and past phrases, near rules) is interned
// once at NewClassifier in a wordIndex. A document then works out per
// token which word patterns match it (a table of the exact words, whose
// sets a document builds once per word, and tables of the prefixes and
// suffixes that '*' patterns name), and lists per word pattern the
// positions it matches. Most tokens of a request occur once: a cache of
// the tokens seen cost more than the lookups it saved. Finding a phrase is
// then a walk over the positions of its first word instead of a scan of
// every token for every term; which clauses hold an intent, a deferring or
// a past phrase is known once per document. The results are those of the
// plain scan, in the same order (TestClassifyGolden).

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

	// The lengths of the "s*" patterns per first headLen bytes (headLen
	// is at most the shortest), ascending; so for "*s" per last bytes.
	prefixHeads, suffixTails     map[string][]int
	prefixHeadLen, suffixTailLen int

	// known numbers the words of exact patterns; knownRecs has per known
	// word where knownStore lists every pattern that matches it, exact or
	// not, and those of them that are anchors: one array, not a slice per
	// word, which a document would read from all over the heap.
	known      map[string]int32
	knownRecs  []knownRec
	knownStore []int

	// anchor marks the patterns whose positions a document lists
	// (docIndex.at).
	anchor []bool
	// knownTab is known as an open-addressing table by tokenSlot, for
	// lookups without a map: per slot a known word's tokenKey, length and
	// number + 1, or 0 when empty, so that a lookup reads one slot; it
	// has 1<<knownBits slots, at most half of them used. knownWords lists
	// the known words by number.
	knownTab   []knownSlot
	knownBits  int
	knownWords []string
	knownMax   int // the length of the longest known word
	// knownBloom has the bit of every known word by the top
	// knownBloomBits of its tokenMix: most other tokens are ruled out
	// without reading knownTab.
	knownBloom [1 << knownBloomBits / 64]uint64

	// affixBits has a bit per hash of every key of prefixHeads and
	// suffixTails: most tokens are ruled out without a map lookup.
	affixBits [1 << affixHashBits / 64]uint64
	// affixRank counts the bits of affixBits before each of its words;
	// affixBuckets lists per set bit, in order, the heads and tails of
	// that hash with their patterns: prefixHeads and suffixTails without
	// a map lookup.
	affixRank    [1 << affixHashBits / 64]uint16
	affixBuckets [][]affixHead
}

// affixHead is a key of prefixHeads (prefix) or suffixTails with the "s*"
// or "*s" patterns whose s starts or ends with it, by ascending length of
// s.
type affixHead struct {
	key    uint32 // tokenKey of the head or tail
	prefix bool
	pats   []affixPat
}

type affixPat struct {
	s   string
	ids []int
}

// affixHashBits is the size of affixHash in bits: small enough for its
// tables to stay in the cache, large enough to rule out most tokens.
const affixHashBits = 12

// affixHash hashes a head or tail of at most four bytes, packed by
// tokenKey, to affixHashBits.
func affixHash(k uint32, prefix bool) uint32 {
	if prefix {
		k ^= 0x5bd1e995
	}
	return (k * 0x9e3779b1) >> (32 - affixHashBits)
}

// affixPats returns the patterns of the head (prefix) or tail whose
// tokenKey is key.
func (x *wordIndex) affixPats(key uint32, prefix bool) []affixPat {
	h := affixHash(key, prefix)
	w, bit := h>>6, uint64(1)<<(h&63)
	if x.affixBits[w]&bit == 0 {
		return nil
	}
	for _, e := range x.affixBuckets[int(x.affixRank[w])+bits.OnesCount64(x.affixBits[w]&(bit-1))] {
		if e.prefix == prefix && e.key == key {
			return e.pats
		}
	}
	return nil
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

// index builds prefixHeads, suffixTails and the tables of known words
// once every pattern is interned; anchor marks the patterns whose
// positions a document lists.
func (x *wordIndex) index(anchor []bool) {
	x.anchor = anchor
	x.prefixHeads, x.prefixHeadLen = lengthsBy(x.prefix, x.prefixLens, func(s string, n int) string { return s[:n] })
	x.suffixTails, x.suffixTailLen = lengthsBy(x.suffix, x.suffixLens, func(s string, n int) string { return s[len(s)-n:] })
	for k := range x.prefixHeads {
		h := affixHash(uint32(tokenKey(k)), true)
		x.affixBits[h>>6] |= 1 << (h & 63)
	}
	for k := range x.suffixTails {
		h := affixHash(uint32(tokenKey(k)), false)
		x.affixBits[h>>6] |= 1 << (h & 63)
	}
	n := 0
	for w, set := range x.affixBits {
		x.affixRank[w] = uint16(n)
		n += bits.OnesCount64(set)
	}
	x.affixBuckets = make([][]affixHead, n)
	for _, a := range [...]struct {
		heads  map[string][]int
		pats   map[string][]int
		prefix bool
	}{{x.prefixHeads, x.prefix, true}, {x.suffixTails, x.suffix, false}} {
		keys := make([]string, 0, len(a.heads))
		for k := range a.heads {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			e := affixHead{key: uint32(tokenKey(k)), prefix: a.prefix}
			for s, ids := range a.pats {
				if a.prefix && strings.HasPrefix(s, k) || !a.prefix && strings.HasSuffix(s, k) {
					e.pats = append(e.pats, affixPat{s: s, ids: ids})
				}
			}
			slices.SortFunc(e.pats, func(p, q affixPat) int { return cmp.Or(len(p.s)-len(q.s), strings.Compare(p.s, q.s)) })
			h := affixHash(e.key, a.prefix)
			b := int(x.affixRank[h>>6]) + bits.OnesCount64(x.affixBits[h>>6]&(1<<(h&63)-1))
			x.affixBuckets[b] = append(x.affixBuckets[b], e)
		}
	}
	words := make([]string, 0, len(x.exact))
	for w := range x.exact {
		words = append(words, w)
	}
	slices.Sort(words)
	x.knownBits = 6
	for 1<<x.knownBits < 2*len(words) {
		x.knownBits++
	}
	x.knownTab = make([]knownSlot, 1<<x.knownBits)
	mask := uint32(1)<<x.knownBits - 1
	x.knownWords = words
	x.known = make(map[string]int32, len(words))
	x.knownRecs = make([]knownRec, len(words))
	set := make([]uint64, (len(x.pats)+63)/64)
	for k, w := range words {
		x.known[w] = int32(k)
		key := tokenKey(w)
		x.knownMax = max(x.knownMax, len(w))
		b := tokenMix(key, len(w)) >> (64 - knownBloomBits)
		x.knownBloom[b>>6] |= 1 << (b & 63)
		h := tokenSlot(key, len(w), x.knownBits)
		for x.knownTab[h].k != 0 {
			h = (h + 1) & mask
		}
		x.knownTab[h] = knownSlot{key: key, n: int32(len(w)), k: int32(k) + 1}
		clear(set)
		x.matches(w, set)
		r := &x.knownRecs[k]
		r.idOff = int32(len(x.knownStore))
		x.knownStore = appendSetIDs(x.knownStore, set)
		r.ancOff = int32(len(x.knownStore))
		for _, id := range x.knownStore[r.idOff:r.ancOff] {
			if x.anchor[id] {
				x.knownStore = append(x.knownStore, id)
			}
		}
		r.end = int32(len(x.knownStore))
	}
}

// knownRec locates the pattern ids of a known word in knownStore: all at
// idOff:ancOff, the anchors at ancOff:end.
type knownRec struct {
	idOff, ancOff, end int32
}

// tokenKey packs the first eight bytes of a token (fewer for a shorter
// one) into an integer, the first in the low byte: two tokens of the same
// length up to eight bytes are equal when their keys are.
func tokenKey(w string) uint64 {
	if len(w) >= 8 {
		return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
	}
	var k uint64
	for i := len(w) - 1; i >= 0; i-- {
		k = k<<8 | uint64(w[i])
	}
	return k
}

// keyAt is tokenKey(string(b[i:i+n])) for b with eight bytes of
// capacity after i: one load instead of one per byte.
func keyAt(b []byte, i, n int) uint64 {
	// Without a branch on n, which a predictor cannot guess: a shift by
	// 64 gives 0.
	return binary.LittleEndian.Uint64(b[i:i+8]) & (^uint64(0) >> (64 - 8*min(n, 8)))
}

// tokenSlot hashes a token of length n and tokenKey key to bits bits.
func tokenSlot(key uint64, n, bits int) uint32 {
	return uint32(tokenMix(key, n) >> (64 - bits))
}

// tokenMix hashes a token of length n and tokenKey key; its top bits are
// tokenSlot.
func tokenMix(key uint64, n int) uint64 {
	return (key ^ uint64(n)<<59) * 0x9e3779b97f4a7c15
}

// knownBloomBits is the size of wordIndex.knownBloom in bits.
const knownBloomBits = 12

// lookupKnown returns the number of the known word w (not empty), whose
// tokenKey is key: x.known without a map lookup.
func (x *wordIndex) lookupKnown(w string, key uint64) (int32, bool) {
	if len(w) > x.knownMax {
		return 0, false
	}
	mix := tokenMix(key, len(w))
	if b := mix >> (64 - knownBloomBits); x.knownBloom[b>>6]&(1<<(b&63)) == 0 {
		return 0, false
	}
	tab := x.knownTab
	mask := uint32(len(tab) - 1)
	for h := uint32(mix >> (64 - x.knownBits)); ; h = (h + 1) & mask {
		e := &tab[h&mask]
		if e.k == 0 {
			return 0, false
		}
		if e.key == key && int(e.n) == len(w) && (len(w) <= 8 || x.knownWords[e.k-1][8:] == w[8:]) {
			return e.k - 1, true
		}
	}
}

// knownSlot is a slot of wordIndex.knownTab.
type knownSlot struct {
	key uint64 // tokenKey of the word
	n   int32  // length of the word
	k   int32  // number of the word + 1, or 0 for an empty slot
}

// appendSetIDs appends the ids whose bits are set in set, ascending.
func appendSetIDs(ids []int, set []uint64) []int {
	for wi, bs := range set {
		for bs != 0 {
			ids = append(ids, wi*64+bits.TrailingZeros64(bs))
			bs &= bs - 1
		}
	}
	return ids
}

// mayHaveAffix reports whether appendAffixIDs can find a pattern for tok,
// whose tokenKey is key: by the bits of affixBits, most tokens cannot.
func (x *wordIndex) mayHaveAffix(tok string, key uint64) bool {
	if n := x.prefixHeadLen; n > 0 && len(tok) >= n {
		if h := affixHash(uint32(key)&(1<<(8*n)-1), true); x.affixBits[h>>6]&(1<<(h&63)) != 0 {
			return true
		}
	}
	if n := x.suffixTailLen; n > 0 && len(tok) >= n {
		if h := affixHash(tailKey(tok, n), false); x.affixBits[h>>6]&(1<<(h&63)) != 0 {
			return true
		}
	}
	for _, id := range x.contains {
		if s := x.pats[id].s; len(tok) >= len(s) && strings.Contains(tok, s) {
			return true
		}
	}
	return false
}

// tailKey is the key of the last n bytes of tok (len(tok) >= n) that
// suffix patterns are listed under.
func tailKey(tok string, n int) uint32 {
	tail := tok[len(tok)-n:]
	if n == 4 {
		return uint32(tail[0]) | uint32(tail[1])<<8 | uint32(tail[2])<<16 | uint32(tail[3])<<24
	}
	return uint32(tokenKey(tail))
}

// appendAffixIDs appends the ids of the "s*", "*s" and "*s*" patterns
// that match tok, whose tokenKey is key, each once.
func (x *wordIndex) appendAffixIDs(ids []int, tok string, key uint64) []int {
	// By ascending length, as prefixHeads and suffixTails list them: at
	// each length only one pattern can match.
	if n := x.prefixHeadLen; n > 0 && len(tok) >= n {
		for _, p := range x.affixPats(uint32(key)&(1<<(8*n)-1), true) {
			if len(p.s) > len(tok) {
				break
			}
			if tok[:len(p.s)] == p.s {
				ids = append(ids, p.ids...)
			}
		}
	}
	if n := x.suffixTailLen; n > 0 && len(tok) >= n {
		for _, p := range x.affixPats(tailKey(tok, n), false) {
			if len(p.s) > len(tok) {
				break
			}
			if tok[len(tok)-len(p.s):] == p.s {
				ids = append(ids, p.ids...)
			}
		}
	}
	for _, id := range x.contains {
		if s := x.pats[id].s; len(tok) >= len(s) && strings.Contains(tok, s) {
			ids = append(ids, id)
		}
	}
	return ids
}

// lengthsBy maps the first (or last, by cut) n bytes of the strings of m
// to their lengths, ascending, with n at most 4 and the shortest length.
func lengthsBy(m map[string][]int, lens []int, cut func(string, int) string) (map[string][]int, int) {
	if len(lens) == 0 {
		return nil, 0
	}
	n := min(4, lens[0])
	out := map[string][]int{}
	for s := range m {
		k := cut(s, n)
		if !slices.Contains(out[k], len(s)) {
			out[k] = append(out[k], len(s))
			slices.Sort(out[k])
		}
	}
	return out, n
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
	if n := x.prefixHeadLen; n > 0 && len(tok) >= n {
		for _, l := range x.prefixHeads[tok[:n]] {
			if l > len(tok) {
				break
			}
			mark(x.prefix[tok[:l]])
		}
	}
	if n := x.suffixTailLen; n > 0 && len(tok) >= n {
		for _, l := range x.suffixTails[tok[len(tok)-n:]] {
			if l > len(tok) {
				break
			}
			mark(x.suffix[tok[len(tok)-l:]])
		}
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
	words  int      // uint64s per set
	flat   []uint64 // sets of words uint64s; the first is empty
	tokSet []int    // per position: which set in flat

	knownSet     []int32 // per known word: its set in flat, or -1
	knownTouched []int32 // known words with a set

	idStore []int // the anchor ids of tokens that are not known words

	// The positions of each anchor word pattern id, ascending: at(id).
	// Pointer-free arrays rather than a slice per id: written in order,
	// and nothing for the garbage collector to scan.
	atCount   []int32  // per id: how many positions
	atOff     []int32  // per touched id: where its positions start in atPos
	atPos     []int    // the positions, by id
	atPairs   []uint64 // id<<32 | position, in the order of the tokens
	clause    []uint8  // per clause number: clause flags
	intentAt  []int32  // per position: 1 + first intent phrase matching there, or 0
	intentPos []uint64 // bit set of the positions with an intent phrase
	touched   []int    // anchor word pattern ids with positions in at
	ids       []int    // scratch

	// Scratch for classifyNew and doc.intents.
	found      []int
	typeWords  []typeWord
	head, next []int32
	scores     typeScores
	intentOut  []string
	termBits   []uint64 // of Classifier.termRefs
}

// clauseWords lists the words per clause of d: head[clause] is the first
// index into words, next[k] the one after k, -1 ends a list; each list is
// in the order of words.
func (ix *docIndex) clauseWords(d *doc, words []typeWord) (head, next []int32) {
	head = slices.Grow(ix.head[:0], len(ix.clause))[:len(ix.clause)]
	for i := range head {
		head[i] = -1
	}
	next = slices.Grow(ix.next[:0], len(words))[:len(words)]
	for k := len(words) - 1; k >= 0; k-- {
		cl := d.toks[words[k].pos].clause
		next[k] = head[cl]
		head[cl] = int32(k)
	}
	ix.head, ix.next = head, next
	return head, next
}

// tokenBufs reuses token lists between documents.
var tokenBufs = sync.Pool{New: func() any { return new([]token) }}

// docIndexes reuses the buffers of docIndex between documents: indexing
// then allocates next to nothing.
var docIndexes = sync.Pool{New: func() any { return new(docIndex) }}

// index builds d.ix for the word patterns of c. d.ix.release gives its
// buffers back.
func (c *Classifier) index(d *doc) {
	x := c.words
	ix := docIndexes.Get().(*docIndex)
	ix.words = (len(x.pats) + 63) / 64
	if len(ix.atCount) < len(x.pats) {
		ix.atCount = make([]int32, len(x.pats))
		ix.atOff = make([]int32, len(x.pats))
	}
	for _, id := range ix.touched {
		ix.atCount[id] = 0
	}
	ix.touched = ix.touched[:0]
	pairs := ix.atPairs[:0]
	if len(ix.knownSet) < len(x.knownRecs) {
		ix.knownSet = make([]int32, len(x.knownRecs))
		for k := range ix.knownSet {
			ix.knownSet[k] = -1
		}
	}
	for _, k := range ix.knownTouched {
		ix.knownSet[k] = -1
	}
	ix.knownTouched = ix.knownTouched[:0]
	ix.flat = append(ix.flat[:0], make([]uint64, ix.words)...)
	tokSet := slices.Grow(ix.tokSet[:0], len(d.toks))[:len(d.toks)]
	ix.idStore = ix.idStore[:0]
	// Clause numbers only grow along the tokens.
	maxClause := 0
	if len(d.toks) > 0 {
		maxClause = d.toks[len(d.toks)-1].clause
	}
	buf := d.text.buf
	text := unsafe.String(unsafe.SliceData(buf), len(buf))
	// Locals, not fields of ix or x, in the loop: writes through ix
	// would make the compiler load them again.
	toks, atCount, touched := d.toks, ix.atCount, ix.touched
	knownRecs, knownStore := x.knownRecs, x.knownStore
	for i := range toks {
		start, end := int(toks[i].start), int(toks[i].end)
		w := text[start:end]
		key := keyAt(buf, start, len(w))
		// A known word has its patterns listed; any other token is
		// matched against the patterns with '*', and most match none.
		var tokIDs []int
		if k, ok := x.lookupKnown(w, key); ok {
			r := knownRecs[k]
			s := ix.knownSet[k]
			if s < 0 {
				s = ix.newKnownSet(k, knownStore[r.idOff:r.ancOff])
			}
			tokSet[i] = int(s)
			tokIDs = knownStore[r.ancOff:r.end]
		} else if x.mayHaveAffix(w, key) {
			tokSet[i], tokIDs = ix.affixSet(x, w, key)
		} else {
			tokSet[i] = 0
		}
		for _, id := range tokIDs {
			if atCount[id] == 0 {
				touched = append(touched, id)
			}
			atCount[id]++
			pairs = append(pairs, uint64(id)<<32|uint64(i))
		}
	}
	ix.touched = touched
	ix.tokSet = tokSet
	// atPos by id, each in the order of the tokens.
	n := int32(0)
	for _, id := range ix.touched {
		ix.atOff[id] = n
		n += ix.atCount[id]
	}
	ix.atPos = slices.Grow(ix.atPos[:0], int(n))[:n]
	for _, p := range pairs {
		id := p >> 32
		ix.atPos[ix.atOff[id]] = int(uint32(p))
		ix.atOff[id]++
	}
	for _, id := range ix.touched {
		ix.atOff[id] -= ix.atCount[id]
	}
	ix.atPairs = pairs
	d.ix = ix
	ix.clause = slices.Grow(ix.clause[:0], maxClause+1)[:maxClause+1]
	clear(ix.clause)
	ix.intentAt = slices.Grow(ix.intentAt[:0], len(d.toks))[:len(d.toks)]
	clear(ix.intentAt)
	ix.intentPos = slices.Grow(ix.intentPos[:0], (len(d.toks)+63)/64)[:(len(d.toks)+63)/64]
	clear(ix.intentPos)
	// Only phrases whose first word occurs can match; the first intent
	// phrase at a position is the one of lowest number.
	for _, id := range ix.touched {
		for _, r := range c.phrasesByFirst.of(id) {
			for _, i := range ix.at(id) {
				if !d.matchAt(*r.pat, i) {
					continue
				}
				ix.clause[d.toks[i].clause] |= r.flag
				if r.flag == clauseIntent && (ix.intentAt[i] == 0 || r.j < ix.intentAt[i]-1) {
					ix.intentPos[i>>6] |= 1 << (i & 63)
					ix.intentAt[i] = r.j + 1
				}
			}
		}
	}
}

// phraseRef is the j-th phrase of the intent, deferring or past phrases
// (flag).
type phraseRef struct {
	flag uint8
	j    int32
	pat  *pattern
}

// release gives the buffers of ix, the index of d, back; d.ix must not
// be used after it.
func (ix *docIndex) release(d *doc) {
	d.ix = nil
	if len(ix.tokSet) > 1<<16 || len(ix.flat) > 1<<16 {
		return // a huge document: let its buffers go
	}
	docIndexes.Put(ix)
}

// newKnownSet makes the set of the known word k, whose pattern ids are
// ids, at its first token, and returns it.
func (ix *docIndex) newKnownSet(k int32, ids []int) int32 {
	s := int32(0)
	if len(ids) > 0 {
		s = int32(ix.newSet(ids))
		ix.knownTouched = append(ix.knownTouched, k)
	}
	ix.knownSet[k] = s
	return s
}

// affixSet returns the set of the token w, no known word, whose tokenKey
// is key, and its anchor ids, appended to idStore.
func (ix *docIndex) affixSet(x *wordIndex, w string, key uint64) (int, []int) {
	ids := x.appendAffixIDs(ix.ids[:0], w, key)
	if len(ids) == 0 {
		return 0, nil
	}
	ix.ids = ids
	set := ix.newSet(ids)
	off := len(ix.idStore)
	for _, id := range ids {
		if x.anchor[id] {
			ix.idStore = append(ix.idStore, id)
		}
	}
	return set, ix.idStore[off:]
}

// at returns the positions of anchor word pattern id, ascending.
func (ix *docIndex) at(id int) []int {
	n := ix.atCount[id]
	if n == 0 {
		return nil
	}
	o := ix.atOff[id]
	return ix.atPos[o : o+n]
}

// newSet appends a set of ids to flat and returns its number.
func (ix *docIndex) newSet(ids []int) int {
	k := len(ix.flat) / ix.words
	ix.flat = append(ix.flat, make([]uint64, ix.words)...)
	set := ix.flat[k*ix.words:]
	for _, id := range ids {
		set[id>>6] |= 1 << (id & 63)
	}
	return k
}

// has reports whether the token at position i matches word pattern id.
func (ix *docIndex) has(i, id int) bool {
	return ix.flat[ix.tokSet[i]*ix.words+id>>6]&(1<<(id&63)) != 0
}

// hasAnyMask reports whether the token at position i matches a word
// pattern of ms.
func (ix *docIndex) hasAnyMask(i int, ms []idMask) bool {
	set := ix.flat[ix.tokSet[i]*ix.words:]
	for _, m := range ms {
		if set[m.word]&m.mask != 0 {
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
		// strings.EqualFold(s[i-3:i], "www") without a call: only 'w'
		// and 'W' fold to 'w'.
		if i >= 3 && s[i-3]|0x20 == 'w' && s[i-2]|0x20 == 'w' && s[i-1]|0x20 == 'w' {
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

// countWordsFold counts the words of foldText(s) as wordsOf splits them,
// stopping at n, folding rune by rune as foldText does without building
// the folded text.
func countWordsFold(s string, n int) int {
	if n <= 0 {
		return 0
	}
	count, in := 0, false
	// ASCII bytes first, without the closure: folding keeps their
	// class, and asciiClass has '_' as no word byte.
	i := 0
	for ; i < len(s) && s[i] < utf8.RuneSelf; i++ {
		if asciiClass[s[i]] == classWord {
			if !in {
				if count++; count >= n {
					return count
				}
			}
			in = true
		} else {
			in = false
		}
	}
	s = s[i:]
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
		f, lr := foldRune(r)
		if lr >= 0 {
			if step(lr) {
				return count
			}
			continue
		}
		for _, fr := range f {
			if step(fr) {
				return count
			}
		}
	}
	return count
}

// hasASCIIDigit reports whether s has a byte '0' to '9'. It looks at
// eight bytes at a time.
func hasASCIIDigit(s string) bool {
	const ones, high, low7 = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	i := 0
	for ; len(s)-i >= 8; i += 8 {
		b := s[i : i+8]
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		// Of the seven low bits, without carries: x+0x50 has the high
		// bit from '0' up, x+0x46 from '9'+1 up; bytes of 0x80 and more
		// are no digits.
		x := w & low7
		if (x+(0x80-'0')*ones)&^(x+(0x80-'9'-1)*ones)&^w&high != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if isASCIIDigit(s[i]) {
			return true
		}
	}
	return false
}

// foldPrefix is a prefix of foldText(s) of at least n bytes, or all of it
// when it is shorter: folding goes rune by rune, so the prefixes agree.
func foldPrefix(s string, n int) string {
	var buf [64]byte
	return string(appendFoldPrefix(buf[:0], s, n))
}

// appendFoldPrefix appends foldPrefix(s, n) to dst.
func appendFoldPrefix(dst []byte, s string, n int) []byte {
	return appendFoldUntil(dst, s, len(dst)+n)
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
	if len(s) < 2*n+1 {
		return false // n+1 fields and the n spaces between them
	}
	count, in := 0, false
	for i := 0; i < len(s); {
		var space bool
		if c := s[i]; c < utf8.RuneSelf {
			space = asciiSpace[c]
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			space = unicode.IsSpace(r)
			i += size
		}
		if space {
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

// asciiSpace marks the ASCII bytes that unicode.IsSpace reports.
var asciiSpace = func() (set [utf8.RuneSelf]bool) {
	for c := range set {
		set[c] = unicode.IsSpace(rune(c))
	}
	return set
}()

// phraseIndex finds which of a list of phrases occurs first in the list's
// order in one pass over the text, instead of one strings.Contains each. A
// phrase is anchored at its first space: a hash of the two bytes before
// and the two after a space of the text picks the phrases to try.
type phraseIndex struct {
	phrases []string
	anchor  []int                        // per phrase: offset of its first space
	keys    [1 << anchorBits / 64]uint64 // bit per anchorKey of a phrase
	rank    [1 << anchorBits / 64]uint16 // bits of keys before each of its words
	buckets [][]int                      // per bit of keys, in order: its phrases
	plain   []int                        // phrases without an anchor
}

// anchorKey hashes the two bytes before and the two after the space at
// s[j] (2 <= j < len(s)-2) to anchorBits bits.
func anchorKey[T string | []byte](s T, j int) int {
	v := uint32(s[j-2])<<24 | uint32(s[j-1])<<16 | uint32(s[j+1])<<8 | uint32(s[j+2])
	return int((v * 0x9e3779b1) >> (32 - anchorBits))
}

// anchorBits is the size of anchorKey in bits: its tables stay in the
// cache, and a few phrases set few of its bits.
const anchorBits = 12

func newPhraseIndex(phrases []string) *phraseIndex {
	x := &phraseIndex{phrases: phrases, anchor: make([]int, len(phrases))}
	byKey := map[int][]int{}
	for i, p := range phrases {
		o := strings.IndexByte(p, ' ')
		x.anchor[i] = o
		if o < 2 || o+2 >= len(p) {
			x.plain = append(x.plain, i)
			continue
		}
		k := anchorKey(p, o)
		byKey[k] = append(byKey[k], i)
		x.keys[k>>6] |= 1 << (k & 63)
	}
	n := 0
	for w, set := range x.keys {
		x.rank[w] = uint16(n)
		n += bits.OnesCount64(set)
	}
	x.buckets = make([][]int, n)
	for k, list := range byKey {
		x.buckets[x.bucket(k)] = list
	}
	return x
}

// bucket returns the index into buckets of key k, whose bit is set.
func (x *phraseIndex) bucket(k int) int {
	return int(x.rank[k>>6]) + bits.OnesCount64(x.keys[k>>6]&(1<<(k&63)-1))
}

// firstIn is first on a byte slice, which is not written meanwhile.
func (x *phraseIndex) firstIn(s []byte) (string, bool) {
	return x.first(unsafe.String(unsafe.SliceData(s), len(s)))
}

// first returns the phrase of lowest index that s contains.
func (x *phraseIndex) first(s string) (string, bool) {
	best := len(x.phrases)
	for _, i := range x.plain {
		if i < best && strings.Contains(s, x.phrases[i]) {
			best = i
		}
	}
	// The spaces, eight bytes at a time: a byte of w^spaces is zero at a
	// space; the bit trick may also mark a byte after one, so each mark is
	// checked.
	const ones, high, spaces = 0x0101010101010101, 0x8080808080808080, 0x2020202020202020
	j := 0
	for ; len(s)-j >= 8+2 && best > 0; j += 8 {
		b := s[j : j+8]
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		w ^= spaces
		m := (w - ones) &^ w & high
		if j >= 8 && len(s)-j >= 8+3 {
			// Most chunks have one or two marks and no anchor: the
			// anchors of the first two are looked at without a branch
			// on how many there are (a missing one reads s[j+8]), and
			// only a chunk with a set bit or more marks is gone through
			// mark by mark.
			m2 := m & (m - 1)
			h1 := anchorKey(s, j+bits.TrailingZeros64(m)>>3)
			h2 := anchorKey(s, j+bits.TrailingZeros64(m2)>>3)
			if x.keys[h1>>6]&(1<<(h1&63))|x.keys[h2>>6]&(1<<(h2&63)) == 0 && m2&(m2-1) == 0 {
				continue
			}
		}
		for ; m != 0; m &= m - 1 {
			// No phrase is anchored before s[2].
			if k := j + bits.TrailingZeros64(m)>>3; s[k] == ' ' && k >= 2 {
				if h := anchorKey(s, k); x.keys[h>>6]&(1<<(h&63)) != 0 {
					best = x.tryAt(s, k, h, best)
				}
			}
		}
	}
	for ; j+2 < len(s) && best > 0; j++ {
		if s[j] == ' ' && j >= 2 {
			if h := anchorKey(s, j); x.keys[h>>6]&(1<<(h&63)) != 0 {
				best = x.tryAt(s, j, h, best)
			}
		}
	}
	if best == len(x.phrases) {
		return "", false
	}
	return x.phrases[best], true
}

// tryAt returns the lowest of best and the numbers of the phrases of key
// h anchored at the space s[j].
func (x *phraseIndex) tryAt(s string, j, h, best int) int {
	for _, i := range x.buckets[x.bucket(h)] {
		p := x.phrases[i]
		if o := x.anchor[i]; i < best && j >= o && len(s)-(j-o) >= len(p) && s[j-o:j-o+len(p)] == p {
			best = i
		}
	}
	return best
}

// foldBufs reuses buffers for folded text that is only looked at.
var foldBufs = sync.Pool{New: func() any { return new([]byte) }}

var (
	autoBodyIndex    = newPhraseIndex(autoBodyPhrases)
	autoSubjectIndex = newPhraseIndex(autoSubjectPhrases)
)

// A replacer built once rather than per line (lineSegments).
var (
	segmentSeparators = strings.NewReplacer("\t", " | ", " • ", " | ", " · ", " | ", " ¦ ", " | ", " - ", " | ", " – ", " | ")
)
