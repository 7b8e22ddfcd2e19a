package intake

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"mime"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Classification happens in two steps, headers first and text second.
//
// The Kind comes from rules in a fixed order: a delivery status notification
// is a bounce (even when it also carries Auto-Submitted); a message marked
// by RFC 3834 Auto-Submitted, X-Autoreply, Precedence, list headers or an
// out-of-office subject is an auto-reply (even when it threads to a
// ticket); a message whose In-Reply-To or References names a Message-ID the
// Thread knows, or whose subject carries a ticket reference, is a
// follow-up; everything else is new.
//
// The Type of a new request is a weighted vote over the words and phrases
// of rules.go, counted in the subject, the first paragraph and the rest of
// the body after quotes and signature are stripped; for a forwarded mail the
// forwarded question counts. A term counts less where the sender puts it
// off, tells what happened before ("vorig jaar hebben jullie een clinic
// gegeven") or negates it ("geen training"). The mailbox's likely type gets
// a bonus (half of it when the text names another type and nothing for the
// mailbox's), an intent next to a type word ("willen ons aanmelden voor de
// praktijktoets") gets a bonus, and a few declared rules settle the types
// that share words. The confidence combines how strong the evidence is with
// how clearly the winner leads; below the threshold the type is overig.
//
// Every rule that fired is in Classification.Reasons with its weight, so a
// project leader can see why and an operator can re-weight terms.

// Term is a weighted word or phrase for a request type (syntax in
// rules.go). Operators add terms in the configuration:
//
//	[classification.terms]
//	clinic = [ { phrase = "teamdag", weight = 2 } ]
type Term struct {
	Phrase string  `toml:"phrase" json:"phrase"`
	Weight float64 `toml:"weight" json:"weight"`
}

// ClassifierConfig configures a Classifier.
type ClassifierConfig struct {
	// Prefix is the ticket reference prefix, e.g. "PO"; "" means "PO".
	Prefix string
	// OwnAddresses are our mailbox addresses, lower case. Mail from them is
	// never a request (loop protection), their domains mark Message-IDs as
	// ours, and they are never taken as the requester of a forward.
	OwnAddresses []string
	// Threshold is the minimum confidence for a request type; below it
	// the type is overig. 0 means DefaultThreshold.
	Threshold float64
	// ExtraTerms adds terms per type, or re-weights a default term when
	// the phrase is the same (weight 0 switches it off).
	ExtraTerms map[Type][]Term
}

// Classifier classifies inbound messages. It is immutable after
// NewClassifier and safe for concurrent use.
type Classifier struct {
	prefix     string
	own        []string // lower-case addresses
	ownDomains []string
	threshold  float64
	terms      map[Type][]compiledTerm
	intents    []pattern
	defers     []pattern
	pasts      []pattern
	near       []compiledNear
	words      *wordIndex // every word pattern above (classify_index.go)

	// The terms of weight other than 0 in the order of Types and their
	// lists, and their numbers in it per id of their first word.
	termRefs     []termRef
	termIDs      []int
	termsByFirst byFirst[int32]
	// The intent, deferring and past phrases per id of their first word.
	phrasesByFirst byFirst[phraseRef]

	// Reason texts worked out once: per type in the order of Types, per
	// adjustRules.
	intentRules, priorRules, priorContra []string
	adjustRules, adjustDetails           []string
}

// byFirst lists items per word pattern id in one array: a document reads
// those of its words next to each other rather than from all over the
// heap.
type byFirst[T any] struct {
	off []int32 // per id: where its items start in all; then len(all)
	all []T
}

func newByFirst[T any](lists [][]T) byFirst[T] {
	b := byFirst[T]{off: make([]int32, 0, len(lists)+1)}
	for _, l := range lists {
		b.off = append(b.off, int32(len(b.all)))
		b.all = append(b.all, l...)
	}
	b.off = append(b.off, int32(len(b.all)))
	return b
}

// of returns the items of id.
func (b *byFirst[T]) of(id int) []T {
	return b.all[b.off[id]:b.off[id+1]]
}

// termRef is a term of the tix-th type of Types, with the ids of its
// words at termIDs[off:off+n]: a term whose phrase does not occur is ruled
// out without reading the term.
type termRef struct {
	term        *compiledTerm
	tix, off, n int32
}

type compiledTerm struct {
	pat    pattern
	weight float64
	rules  [8]string // the reason's rule per set of zones (zoneSet)
}

type compiledNear struct {
	rule       nearRule
	ruleText   string // of its reason
	a, b       []wordPat
	aIDs, bIDs []int    // in Classifier.words
	bMask      []idMask // bIDs as bits
}

// idMask is a word of a set of word pattern ids: the bits of mask in the
// word-th uint64.
type idMask struct {
	word int
	mask uint64
}

func idMasks(ids []int) []idMask {
	var out []idMask
	for _, id := range ids {
		i := slices.IndexFunc(out, func(m idMask) bool { return m.word == id>>6 })
		if i < 0 {
			i = len(out)
			out = append(out, idMask{word: id >> 6})
		}
		out[i].mask |= 1 << (id & 63)
	}
	return out
}

// NewClassifier checks cfg and compiles the rules.
func NewClassifier(cfg ClassifierConfig) (*Classifier, error) {
	c := &Classifier{
		prefix:    strings.ToUpper(strings.TrimSpace(cfg.Prefix)),
		threshold: cfg.Threshold,
		terms:     make(map[Type][]compiledTerm),
	}
	if c.prefix == "" {
		c.prefix = "PO"
	}
	for _, r := range c.prefix {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return nil, fmt.Errorf("classifier: ticket prefix %q: only ASCII letters and digits", cfg.Prefix)
		}
	}
	if c.threshold == 0 {
		c.threshold = DefaultThreshold
	}
	if c.threshold < 0 || c.threshold > 1 {
		return nil, fmt.Errorf("classifier: threshold %v: must be between 0 and 1", cfg.Threshold)
	}
	for _, a := range cfg.OwnAddresses {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == "" {
			continue
		}
		c.own = append(c.own, a)
		if i := strings.LastIndex(a, "@"); i >= 0 && i+1 < len(a) {
			if d := a[i+1:]; !slices.Contains(c.ownDomains, d) {
				c.ownDomains = append(c.ownDomains, d)
			}
		}
	}

	for _, t := range Types {
		for _, term := range defaultTerms[t] {
			p, ok := compilePattern(term.Phrase)
			if !ok {
				return nil, fmt.Errorf("classifier: default term %q for %s is empty", term.Phrase, t)
			}
			c.terms[t] = append(c.terms[t], compiledTerm{pat: p, weight: term.Weight})
		}
	}
	extraTypes := make([]Type, 0, len(cfg.ExtraTerms))
	for t := range cfg.ExtraTerms {
		extraTypes = append(extraTypes, t)
	}
	slices.Sort(extraTypes) // deterministic error messages and order
	for _, t := range extraTypes {
		if !slices.Contains(Types, t) {
			return nil, fmt.Errorf("classifier: extra terms: unknown request type %q", t)
		}
		for _, term := range cfg.ExtraTerms[t] {
			p, ok := compilePattern(term.Phrase)
			if !ok {
				return nil, fmt.Errorf("classifier: extra terms for %s: empty phrase %q", t, term.Phrase)
			}
			replaced := false
			for i := range c.terms[t] {
				if c.terms[t][i].pat.text == p.text {
					c.terms[t][i].weight = term.Weight
					replaced = true
				}
			}
			if !replaced {
				c.terms[t] = append(c.terms[t], compiledTerm{pat: p, weight: term.Weight})
			}
		}
	}
	for _, s := range intentPhrases {
		p, _ := compilePattern(s)
		c.intents = append(c.intents, p)
	}
	for _, s := range deferPhrases {
		p, _ := compilePattern(s)
		c.defers = append(c.defers, p)
	}
	for _, s := range pastPhrases {
		p, _ := compilePattern(s)
		c.pasts = append(c.pasts, p)
	}
	for _, r := range nearRules {
		c.near = append(c.near, compiledNear{rule: r, a: compileWords(r.A), b: compileWords(r.B)})
	}
	c.words = newWordIndex()
	for _, t := range Types {
		for i := range c.terms[t] {
			c.words.internPattern(&c.terms[t][i].pat)
		}
	}
	for _, list := range [][]pattern{c.intents, c.defers, c.pasts} {
		for i := range list {
			c.words.internPattern(&list[i])
		}
	}
	for i := range c.near {
		c.near[i].aIDs = c.words.internWords(c.near[i].a)
		c.near[i].bIDs = c.words.internWords(c.near[i].b)
		c.near[i].bMask = idMasks(c.near[i].bIDs)
		c.near[i].ruleText = "near:" + c.near[i].rule.Name + ":" + string(c.near[i].rule.Type)
	}
	// The patterns whose positions a document lists: first words of
	// phrases and words a near rule starts from.
	anchor := make([]bool, len(c.words.pats))
	for _, t := range Types {
		for i := range c.terms[t] {
			anchor[c.terms[t][i].pat.ids[0]] = true
		}
	}
	for _, list := range [][]pattern{c.intents, c.defers, c.pasts} {
		for i := range list {
			anchor[list[i].ids[0]] = true
		}
	}
	for i := range c.near {
		for _, id := range c.near[i].aIDs {
			anchor[id] = true
		}
	}
	c.words.index(anchor)
	phrasesByFirst := make([][]phraseRef, len(c.words.pats))
	termsByFirst := make([][]int32, len(c.words.pats))
	for _, l := range [...]struct {
		flag uint8
		list []pattern
	}{{clauseIntent, c.intents}, {clauseDefer, c.defers}, {clausePast, c.pasts}} {
		for j := range l.list {
			p := &l.list[j]
			phrasesByFirst[p.ids[0]] = append(phrasesByFirst[p.ids[0]], phraseRef{flag: l.flag, j: int32(j), pat: p})
		}
	}
	c.phrasesByFirst = newByFirst(phrasesByFirst)
	for tix, t := range Types {
		for i := range c.terms[t] {
			if term := &c.terms[t][i]; term.weight != 0 {
				g := int32(len(c.termRefs))
				c.termRefs = append(c.termRefs, termRef{term: term, tix: int32(tix), off: int32(len(c.termIDs)), n: int32(len(term.pat.ids))})
				c.termIDs = append(c.termIDs, term.pat.ids...)
				termsByFirst[term.pat.ids[0]] = append(termsByFirst[term.pat.ids[0]], g)
			}
		}
	}
	c.termsByFirst = newByFirst(termsByFirst)
	for _, t := range Types {
		for i := range c.terms[t] {
			term := &c.terms[t][i]
			for k := range term.rules {
				term.rules[k] = "type:" + string(t) + ":" + zoneNameSets[k] + ":" + term.pat.text
			}
		}
		c.intentRules = append(c.intentRules, "intent:"+string(t))
		c.priorRules = append(c.priorRules, "prior:"+string(t))
		c.priorContra = append(c.priorContra, fmt.Sprintf("mailbox; ×%g: no word for it, %s has evidence", priorContraFactor, t))
	}
	for _, a := range adjustRules {
		c.adjustRules = append(c.adjustRules, "adjust:"+a.Name+":"+string(a.Scale))
		c.adjustDetails = append(c.adjustDetails, fmt.Sprintf("×%g", a.Factor))
	}
	return c, nil
}

// Classify decides what m is. prior is the mailbox's likely request type
// ("" for none); th answers which Message-IDs belong to which ticket and may
// be nil. The result is deterministic and always has at least one Reason.
func (c *Classifier) Classify(m *Message, prior Type, th Thread) Classification {
	var cl Classification
	if m == nil {
		cl.Kind = KindNew
		cl.Type = TypeOverig
		cl.Reasons = []Reason{{Rule: "message:missing", Detail: "nil message"}}
		return cl
	}
	cl.Requester = m.From
	if len(m.Text) > maxClassifyText {
		clipped := *m
		clipped.Text = clipText(m.Text, maxClassifyText)
		m = &clipped
		cl.Reasons = append(cl.Reasons, Reason{Rule: "text:clipped", Detail: fmt.Sprintf("only the first %d bytes are read", maxClassifyText)})
	}

	subject := m.Subject
	fsubj := subject
	if foldedPrefix(subject) < len(subject) {
		// Folded into a pooled buffer: no reason keeps a part of it.
		fb := foldBufs.Get().(*[]byte)
		*fb = appendFold((*fb)[:0], subject)
		fsubj = unsafe.String(unsafe.SliceData(*fb), len(*fb))
		defer foldBufs.Put(fb)
	}
	var h msgHeader
	headerOf(m, &h)

	// 1. Bounce.
	if rs := c.bounceRules(m, &h, fsubj); len(rs) > 0 {
		cl.Kind = KindBounce
		cl.Confidence = 1
		cl.Reasons = append(cl.Reasons, rs...)
		c.bounceThread(m, th, &cl)
		return cl
	}

	// 2. Auto-reply.
	// Weak signals that did not add up are still worth showing, so the
	// reasons are kept either way.
	rs, auto := c.autoRules(m, &h, fsubj)
	cl.Reasons = append(cl.Reasons, rs...)
	if auto {
		cl.Kind = KindAutoReply
		cl.Confidence = kindConfidence(rs)
		cl.ThreadMessageID, cl.TicketRef = c.threadOf(m, th, nil)
		c.contact(m, &cl, "", nil, nil)
		return cl
	}

	// 3. Follow-up.
	if id, ref, ok := c.knownThread(m, th); ok {
		cl.Kind = KindFollowUp
		cl.Confidence = 1
		cl.TicketRef, cl.ThreadMessageID = ref, id
		cl.Reasons = append(cl.Reasons, Reason{Rule: "thread:known-message-id", Detail: "<" + id + "> of " + ref, Weight: 1})
		if sref, ok := ParseTicketRef(subject, c.prefix); ok && sref != ref {
			cl.Reasons = append(cl.Reasons, Reason{Rule: "subject:ticket-ref-differs", Detail: sref})
		}
		c.contact(m, &cl, "", nil, nil)
		return cl
	}
	if ref, ok := ParseTicketRef(subject, c.prefix); ok {
		cl.Kind = KindFollowUp
		cl.Confidence = 1
		cl.TicketRef = ref
		cl.ThreadMessageID, _ = c.threadOf(m, th, nil)
		cl.Reasons = append(cl.Reasons, Reason{Rule: "subject:ticket-ref", Detail: ref, Weight: 1})
		c.contact(m, &cl, "", nil, nil)
		return cl
	}

	// 4. New.
	cl.Kind = KindNew
	rb := reasonBufs.Get().(*[]Reason)
	rs = append(append((*rb)[:0], cl.Reasons...), Reason{Rule: "kind:new", Detail: "no bounce, auto-reply or thread rule fired"})
	if p := subjectPrefix(fsubj, replyPrefixes); p != "" {
		rs = append(rs, Reason{Rule: "subject:reply-prefix-ignored", Detail: p})
	}
	if len(m.InReplyTo)+len(m.References) > 0 {
		rs = append(rs, Reason{Rule: "thread:unknown-message-id", Detail: "In-Reply-To/References name no known message"})
	}
	cl.Reasons = c.requestType(m, prior, &cl, rs, rb)
	return cl
}

// reasonBufs reuses the buffers in which classifyNew collects reasons
// before it copies them to a slice of their own.
var reasonBufs = sync.Pool{New: func() any { return new([]Reason) }}

// kindConfidence is 1 when a strong rule decided the kind, less when weak
// signals added up.
func kindConfidence(rs []Reason) float64 {
	best := 0.0
	sum := 0.0
	for _, r := range rs {
		best = max(best, r.Weight)
		sum += r.Weight
	}
	if best >= 1 {
		return 1
	}
	return min(0.9, sum*0.8)
}

// bounceRules returns the bounce rules that fired.
func (c *Classifier) bounceRules(m *Message, h *msgHeader, fsubj string) []Reason {
	var rs []Reason
	ct, rt := m.ContentType, m.ReportType
	if ct == "" {
		if v := h.fieldValue(hdrContentType); v != "" {
			if mt, params, err := mime.ParseMediaType(v); err == nil {
				ct, rt = mt, params["report-type"]
			}
		}
	}
	if strings.EqualFold(ct, "multipart/report") && strings.EqualFold(rt, "delivery-status") {
		rs = append(rs, Reason{Rule: "header:content-type", Detail: "multipart/report; report-type=delivery-status", Weight: 1})
	}
	if local, _, _ := strings.Cut(m.From.Address, "@"); slices.Contains(bounceLocalParts, strings.ToLower(local)) {
		rs = append(rs, Reason{Rule: "from:mailer-daemon", Detail: m.From.Address, Weight: 1})
	}
	if m.From.Name != "" {
		var b [128]byte
		fb := appendFold(b[:0], m.From.Name)
		fn := unsafe.String(unsafe.SliceData(fb), len(fb))
		for _, n := range bounceNames {
			if strings.Contains(fn, n) {
				rs = append(rs, Reason{Rule: "from:mail-delivery-name", Detail: m.From.Name, Weight: 1})
				break
			}
		}
	}
	if v := h.fieldValue(hdrFailedRecipients); v != "" {
		rs = append(rs, Reason{Rule: "header:x-failed-recipients", Detail: v, Weight: 1})
	}
	if h.hasField(hdrExchangeNDR) {
		rs = append(rs, Reason{Rule: "header:x-ms-exchange-message-is-ndr", Weight: 1})
	}
	if p, ok := firstPrefix(strings.TrimLeft(fsubj, " ["), bounceSubjectPrefixes); ok {
		rs = append(rs, Reason{Rule: "subject:bounce", Detail: p, Weight: 1})
	}
	return rs
}

// firstPrefix returns the first string of list that s starts with. It
// compares the first bytes before the strings: most subjects start with
// none of them.
func firstPrefix(s string, list []string) (string, bool) {
	for _, p := range list {
		if p == "" || len(s) >= len(p) && s[0] == p[0] && s[:len(p)] == p {
			return p, true
		}
	}
	return "", false
}

// autoRules returns the auto-reply rules that fired and whether they add
// up to an automatic message: one strong rule (weight 1) or two weak ones.
func (c *Classifier) autoRules(m *Message, h *msgHeader, fsubj string) ([]Reason, bool) {
	var rs []Reason
	if v := strings.ToLower(strings.TrimSpace(h.fieldValue(hdrAutoSubmitted))); v != "" {
		if base, _, _ := strings.Cut(v, ";"); strings.TrimSpace(base) != "no" {
			rs = append(rs, Reason{Rule: "header:auto-submitted", Detail: v, Weight: 1})
		}
	}
	for _, k := range [...]int{hdrAutoreply, hdrAutorespond, hdrAutoresponder} {
		if h.hasField(k) {
			if v := strings.ToLower(strings.TrimSpace(h.fieldValue(k))); v != "no" && v != "false" {
				rs = append(rs, Reason{Rule: "header:" + strings.ToLower(hdrNames[k]), Detail: h.fieldValue(k), Weight: 1})
			}
		}
	}
	if v := strings.ToLower(strings.TrimSpace(h.fieldValue(hdrPrecedence))); slices.Contains(autoPrecedence, v) {
		rs = append(rs, Reason{Rule: "header:precedence", Detail: v, Weight: 1})
	}
	for _, k := range [...]int{hdrListID, hdrListUnsubscribe} {
		if h.hasField(k) {
			rs = append(rs, Reason{Rule: "header:" + strings.ToLower(hdrNames[k]), Detail: "newsletter or list mail, not a request", Weight: 1})
		}
	}
	if strings.EqualFold(m.ContentType, "multipart/report") && m.ReportType != "" && !strings.EqualFold(m.ReportType, "delivery-status") {
		rs = append(rs, Reason{Rule: "header:content-type", Detail: "multipart/report; report-type=" + m.ReportType, Weight: 1})
	}
	if m.From.Address != "" && c.isOwnAddress(m.From.Address) {
		rs = append(rs, Reason{Rule: "from:own-address", Detail: strings.ToLower(m.From.Address) + " (loop protection)", Weight: 1})
	}
	autoSubject := false
	if p, ok := firstPrefix(strings.TrimLeft(fsubj, " ["), autoSubjectPrefixes); ok {
		rs = append(rs, Reason{Rule: "subject:auto-reply", Detail: p, Weight: 1})
		autoSubject = true
	}
	if !autoSubject {
		if p, ok := autoSubjectIndex.first(fsubj); ok {
			rs = append(rs, Reason{Rule: "subject:auto-reply", Detail: p, Weight: 1})
			autoSubject = true
		}
	}
	// Weak signals.
	if h.hasField(hdrAutoResponseSuppress) {
		rs = append(rs, Reason{Rule: "header:x-auto-response-suppress", Detail: h.fieldValue(hdrAutoResponseSuppress), Weight: 0.5})
	}
	if h.hasField(hdrReturnPath) {
		if v := strings.TrimSpace(h.fieldValue(hdrReturnPath)); v == "<>" || v == "" {
			rs = append(rs, Reason{Rule: "header:return-path-null", Detail: "<>", Weight: 0.5})
		}
	}
	buf := foldBufs.Get().(*[]byte)
	body := appendFold((*buf)[:0], firstN(m.Text, 3000))
	if p, ok := autoBodyIndex.firstIn(body); ok {
		rs = append(rs, Reason{Rule: "body:out-of-office", Detail: p, Weight: 0.5})
	}
	*buf = body
	foldBufs.Put(buf)
	sum := 0.0
	for _, r := range rs {
		if r.Weight >= 1 {
			return rs, true
		}
		sum += r.Weight
	}
	return rs, sum >= 1
}

// isOwnAddress reports whether c.own has a in lower case, without
// building it when a is ASCII.
func (c *Classifier) isOwnAddress(a string) bool {
	if !isASCII(a) {
		return slices.Contains(c.own, strings.ToLower(a))
	}
	for _, o := range c.own {
		if len(o) != len(a) {
			continue
		}
		i := 0
		for i < len(a) && lowerASCII(a[i]) == o[i] {
			i++
		}
		if i == len(a) {
			return true
		}
	}
	return false
}

// lowerASCII returns the ASCII byte c in lower case.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// knownThread returns the first Message-ID of In-Reply-To, then References
// (newest first), that th knows.
func (c *Classifier) knownThread(m *Message, th Thread) (id, ref string, ok bool) {
	if th == nil {
		return "", "", false
	}
	for _, id := range threadIDs(m) {
		if ref, ok := th.TicketForMessageID(id); ok && ref != "" {
			return id, ref, true
		}
	}
	return "", "", false
}

// threadIDs lists In-Reply-To, then References from newest to oldest,
// without angle brackets and duplicates.
func threadIDs(m *Message) []string {
	var ids []string
	add := func(s string) {
		s = trimID(s)
		if s != "" && !slices.Contains(ids, s) {
			ids = append(ids, s)
		}
	}
	for _, s := range m.InReplyTo {
		add(s)
	}
	for i := len(m.References) - 1; i >= 0; i-- {
		add(m.References[i])
	}
	return ids
}

func trimID(s string) string {
	return strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "<>"))
}

// threadOf finds the message of ours that m answers and its ticket: a
// Message-ID th knows, else one in our own domains; the ticket from th or
// from the subject. extra lists more candidate Message-IDs (the returned
// headers of a bounce).
func (c *Classifier) threadOf(m *Message, th Thread, extra []string) (id, ref string) {
	ids := append(slices.Clone(extra), threadIDs(m)...)
	if th != nil {
		for _, cand := range ids {
			if r, ok := th.TicketForMessageID(cand); ok && r != "" {
				return cand, r
			}
		}
	}
	for _, cand := range ids {
		if c.isOwnID(cand) {
			id = cand
			break
		}
	}
	ref, _ = ParseTicketRef(m.Subject, c.prefix)
	return id, ref
}

// isOwnID reports whether a Message-ID was generated in one of our domains.
func (c *Classifier) isOwnID(id string) bool {
	_, dom, ok := strings.Cut(id, "@")
	if !ok {
		return false
	}
	dom = strings.ToLower(dom)
	for _, d := range c.ownDomains {
		if dom == d || strings.HasSuffix(dom, "."+d) {
			return true
		}
	}
	return false
}

// bounceThread fills TicketRef and ThreadMessageID of a bounce from the
// returned headers, the bounce's own threading headers and subject, and as
// a last resort the text of the notification.
func (c *Classifier) bounceThread(m *Message, th Thread, cl *Classification) {
	var extra []string
	for _, f := range m.Forwarded {
		if id := trimID(f.MessageID); id != "" {
			extra = append(extra, id)
		}
	}
	for _, id := range messageIDsInText(m.Text) {
		if !slices.Contains(extra, id) {
			extra = append(extra, id)
		}
	}
	id, ref := c.threadOf(m, th, extra)
	if ref == "" {
		for _, f := range m.Forwarded {
			if r, ok := ParseTicketRef(f.Subject, c.prefix); ok {
				ref = r
				if id == "" {
					id = trimID(f.MessageID)
				}
				break
			}
		}
	}
	if ref == "" {
		ref, _ = ParseTicketRef(m.Text, c.prefix)
	}
	cl.ThreadMessageID, cl.TicketRef = id, ref
	if id != "" || ref != "" {
		cl.Reasons = append(cl.Reasons, Reason{Rule: "bounce:returned-message", Detail: strings.TrimSpace("<" + id + "> " + ref)})
	}
}

var messageIDLineRe = regexp.MustCompile(`(?im)^\s*message-id:\s*<([^<>\s]+)>`)

// messageIDsInText finds "Message-ID: <…>" lines in the text of a
// notification that quotes the returned headers inline.
func messageIDsInText(text string) []string {
	text = firstN(text, 20000)
	i := idFieldIndex(text)
	if i < 0 {
		return nil // messageIDLineRe needs "-id:": a cheap look first
	}
	// No match ends before the line of the first "-id:", and one that
	// starts on a blank line above it captures the same: read from there.
	text = text[strings.LastIndexByte(text[:i], '\n')+1:]
	var ids []string
	for _, m := range messageIDLineRe.FindAllStringSubmatch(text, 5) {
		ids = append(ids, m[1])
	}
	return ids
}

// idFieldIndex returns the index of the first "-id:" in any case in s,
// or -1.
func idFieldIndex(s string) int {
	for i := strings.IndexByte(s, ':'); i >= 0; {
		if i >= 3 && s[i-3] == '-' && s[i-2]|0x20 == 'i' && s[i-1]|0x20 == 'd' {
			return i - 3
		}
		j := strings.IndexByte(s[i+1:], ':')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return -1
}

// contact fills Org and Phone from the body; for a forward from the
// forwarded part first. fwd and text, when not nil, are the forwarded part
// and m.Text with their quotes stripped.
func (c *Classifier) contact(m *Message, cl *Classification, forwarded string, fwd, text *strippedText) {
	if len(m.Text) > maxClassifyText {
		fwd, text = nil, nil // ExtractContact reads them clipped
	}
	if fwd != nil {
		cl.Org, cl.Phone = fwd.contact()
	} else if forwarded != "" {
		cl.Org, cl.Phone = ExtractContact(forwarded)
	}
	if cl.Org != "" && cl.Phone != "" {
		return // the forwarded part had both: the text would change nothing
	}
	var org, phone string
	if text != nil {
		org, phone = text.contact()
	} else {
		org, phone = ExtractContact(m.Text)
	}
	if cl.Org == "" {
		cl.Org = org
	}
	if cl.Phone == "" {
		cl.Phone = phone
	}
}

// request is what a new request's sender wrote: the subject without reply
// and forward prefixes, the body without quotes and signature and, for a
// forward, the forwarded message as the body and the forwarder's note as
// the rest.
type request struct {
	subject, body, rest string
	fwd                 *forwardPart // nil unless a forward was found
}

func requestOf(subject, text string) request {
	b := getLineBufs()
	defer b.release()
	rq := readRequest(b, subject, text)
	if rq.fwd != nil {
		rq.fwd.Note, rq.fwd.Body = strings.Join(rq.fwdNote, "\n"), strings.Join(rq.fwdLines, "\n")
	}
	return request{subject: rq.subject, body: strings.Join(rq.body, "\n"), rest: strings.Join(rq.rest, "\n"), fwd: rq.fwd}
}

// requestLines is a request with its body and rest as lines, and the
// stripped texts that contact extraction reads too.
type requestLines struct {
	subject    string
	body, rest []string
	fwd        *forwardPart // nil unless a forward was found; without Note and Body
	fwdNote    []string     // the lines of fwd.Note
	fwdLines   []string     // the lines of fwd.Body
	fwdBody    strippedText // the forwarded message, for a forward
	text       strippedText // the text, when it is no forward
}

// readRequest reads the request in subject and text; its lines are kept
// in b.
func readRequest(b *lineBufs, subject, text string) requestLines {
	var rq requestLines
	isFwdSubject := false
	if strings.IndexByte(subject, ':') >= 0 { // no prefix without one
		fs := foldText(subject)
		rq.subject = cleanSubjectFolded(subject, fs)
		isFwdSubject = subjectPrefix(fs, forwardPrefixes) != ""
	} else {
		rq.subject = cleanSubject(subject)
	}
	b.lines = splitLinesInto(b.lines, text)
	lines := b.lines
	// A body of only blank lines has none left after trimBlankTail.
	if fp, note, body, ok := splitForwardLines(lines, isFwdSubject); ok && len(body) > 0 {
		rq.fwd, rq.fwdNote, rq.fwdLines = &fp, note, body
		rq.fwdBody = stripTextInto(b.text, body)
		b.text = rq.fwdBody.lines
		rq.body = rq.fwdBody.body()
		nt := stripTextInto(b.note, note)
		b.note = nt.lines
		rq.rest = nt.body()
		if fs := cleanSubject(fp.Subject); fs != "" && !strings.EqualFold(fs, rq.subject) {
			rq.subject = strings.TrimSpace(rq.subject + " " + fs)
		}
		return rq
	}
	rq.text = stripTextInto(b.text, lines)
	b.text = rq.text.lines
	rq.body = rq.text.body()
	return rq
}

// classifyNew decides the request type of a new message.
func (c *Classifier) classifyNew(m *Message, prior Type, cl *Classification) {
	rb := reasonBufs.Get().(*[]Reason)
	cl.Reasons = c.requestType(m, prior, cl, append((*rb)[:0], cl.Reasons...), rb)
}

// requestType is classifyNew with the reasons so far in rs, a buffer of
// reasonBufs that rb gives back; it returns every reason in a slice of
// their own.
func (c *Classifier) requestType(m *Message, prior Type, cl *Classification, rs []Reason, rb *[]Reason) []Reason {
	rs = c.classifyNewInto(m, prior, cl, rs)
	out := make([]Reason, len(rs))
	copy(out, rs)
	if cap(rs) <= 1<<10 {
		clear(rs) // let the strings go
		*rb = rs[:0]
		reasonBufs.Put(rb)
	}
	return out
}

// classifyNewInto decides the request type of a new message, appending
// its reasons to rs instead of cl.Reasons.
func (c *Classifier) classifyNewInto(m *Message, prior Type, cl *Classification, rs []Reason) []Reason {
	lb := getLineBufs()
	defer lb.release()
	rq := readRequest(lb, m.Subject, m.Text)
	if fp := rq.fwd; fp != nil {
		rs = append(rs, Reason{Rule: "forward:content", Detail: "classified on the forwarded message"})
		if a, ok := c.forwardRequester(m, fp.From); ok {
			cl.Requester = a
			rs = append(rs, Reason{Rule: "forward:requester", Detail: a.Address})
		}
		var forwarded string
		if len(m.Text) > maxClassifyText {
			forwarded = strings.Join(rq.fwdLines, "\n") // contact reads it, not fwdBody
		}
		c.contact(m, cl, forwarded, &rq.fwdBody, nil)
	} else {
		c.contact(m, cl, "", nil, &rq.text)
	}

	tb := tokenBufs.Get().(*[]token)
	doc := tokenizeDocInto(*tb, rq.subject, rq.body, rq.rest)
	defer func() {
		// The tokens hold no pointers: nothing to clear.
		if toks := doc.toks; cap(toks) <= 1<<16 {
			*tb = toks[:0]
			tokenBufs.Put(tb)
		}
		doc.release()
	}()
	c.index(doc)
	defer doc.ix.release(doc)
	scores := typeScores(slices.Grow(doc.ix.scores[:0], len(Types))[:len(Types)])
	clear(scores)
	doc.ix.scores = scores
	typeWords := doc.ix.typeWords[:0]
	defer func() { doc.ix.typeWords = typeWords[:0] }()

	// The terms whose first word is in the text, in the order of Types and
	// their lists: the others cannot match.
	ix := doc.ix
	ix.termBits = slices.Grow(ix.termBits[:0], (len(c.termRefs)+63)/64)[:(len(c.termRefs)+63)/64]
	clear(ix.termBits)
	for _, id := range ix.touched {
		for _, g := range c.termsByFirst.of(id) {
			ix.termBits[g>>6] |= 1 << (g & 63)
		}
	}
	for wi, bs := range ix.termBits {
		for ; bs != 0; bs &= bs - 1 {
			ref := &c.termRefs[wi*64+bits.TrailingZeros64(bs)]
			doc.ix.found = doc.findIDs(doc.ix.found[:0], c.termIDs[ref.off:ref.off+ref.n])
			if len(doc.ix.found) == 0 {
				continue
			}
			tix, t, term := int(ref.tix), Types[ref.tix], ref.term
			var zoneMult [3]float64
			var zoneWhy [3]string
			for _, pos := range doc.ix.found {
				mult, why := c.modifier(doc, pos, len(term.pat.words), t)
				z := doc.toks[pos].zone
				if mult > zoneMult[z] {
					zoneMult[z], zoneWhy[z] = mult, why
				}
				if term.weight >= intentMinWeight && mult == 1 {
					typeWords = append(typeWords, typeWord{pos: pos, n: len(term.pat.words), t: tix, text: term.pat.text})
				}
			}
			factor := zoneMult[0]*subjectFactor + zoneMult[1]*leadFactor + zoneMult[2]*bodyFactor
			if factor == 0 {
				continue
			}
			w := round2(term.weight * factor)
			scores[tix] += w
			rs = append(rs, Reason{
				Rule:   term.rules[zoneSet(zoneMult)],
				Detail: joinWhys(zoneWhy),
				Weight: w,
			})
		}
	}
	intent := doc.intents(c.intents, typeWords)
	for tix := range Types {
		if ip := intent[tix]; ip != "" {
			scores[tix] += intentBonus
			rs = append(rs, Reason{Rule: c.intentRules[tix], Detail: ip, Weight: intentBonus})
		}
	}
	for _, n := range c.near {
		if doc.near(n.aIDs, n.bMask, n.rule.Window) {
			scores.add(n.rule.Type, n.rule.Weight)
			rs = append(rs, Reason{Rule: n.ruleText, Weight: n.rule.Weight})
		}
	}
	for ai, a := range adjustRules {
		if intent[typeIndex(a.When)] != "" && scores.of(a.Scale) > 0 {
			d := round2(scores.of(a.Scale) * (a.Factor - 1))
			scores.add(a.Scale, d)
			rs = append(rs, Reason{Rule: c.adjustRules[ai], Detail: c.adjustDetails[ai], Weight: d})
		}
	}
	switch {
	case prior == "" || prior == TypeOverig:
	case slices.Contains(Types, prior):
		// The mailbox speaks when the text does not: a request for
		// something else, without a word for the mailbox's type, gets
		// only part of the bonus.
		bonus, detail := priorBonus, "mailbox"
		if scores.of(prior) <= 0 {
			for tix, t := range Types {
				if t != prior && scores[tix] >= priorBonus {
					bonus, detail = round2(priorBonus*priorContraFactor), c.priorContra[tix]
					break
				}
			}
		}
		scores.add(prior, bonus)
		rs = append(rs, Reason{Rule: c.priorRules[typeIndex(prior)], Detail: detail, Weight: bonus})
	default:
		rs = append(rs, Reason{Rule: "prior:unknown-type", Detail: string(prior)})
	}

	top, conf, summary, cands := decide(scores)
	cl.Confidence = conf
	cl.Candidates = cands
	rs = append(rs, Reason{Rule: "type:scores", Detail: summary})
	switch {
	case top == "":
		cl.Type = TypeOverig
		rs = append(rs, Reason{Rule: "type:overig:no-evidence", Detail: "no term matched"})
	case top != TypeOverig && conf < c.threshold:
		cl.Type = TypeOverig
		var b [64]byte
		d := append(append(append(b[:0], "below threshold: "...), top...), ' ')
		d = append(strconv.AppendFloat(d, conf, 'f', 2, 64), " < "...)
		d = strconv.AppendFloat(d, c.threshold, 'f', 2, 64)
		rs = append(rs, Reason{Rule: "type:overig:below-threshold", Detail: string(d)})
	default:
		cl.Type = top
	}
	return rs
}

// joinWhys is strings.Join of the distinct non-empty whys in order,
// separated by ", ".
func joinWhys(whys [3]string) string {
	var out [3]string
	n := 0
	for _, why := range whys {
		if why != "" && !slices.Contains(out[:n], why) {
			out[n] = why
			n++
		}
	}
	switch n {
	case 0:
		return ""
	case 1:
		return out[0]
	case 2:
		return out[0] + ", " + out[1]
	}
	return out[0] + ", " + out[1] + ", " + out[2]
}

// typeScores holds a score per request type, in the order of Types.
type typeScores []float64

// add adds w to the score of t, a type of Types.
func (s typeScores) add(t Type, w float64) { s[typeIndex(t)] += w }

// of returns the score of t, a type of Types.
func (s typeScores) of(t Type) float64 { return s[typeIndex(t)] }

// decide picks the type with the highest score (ties in the order of
// Types) and computes the confidence: evidence × (share + margin) / 2,
// where evidence = top/(top+evidenceHalf), share = top/sum and margin =
// (top−second)/top, over the positive scores. The candidates are the best
// MaxCandidates types with the confidence each would have as the decision
// (a runner-up has no margin).
func decide(scores typeScores) (top Type, conf float64, summary string, cands []Candidate) {
	type ts struct {
		t Type
		s float64
	}
	var buf [16]ts
	list := buf[:0]
	sum := 0.0
	for tix, t := range Types {
		if s := scores[tix]; s > 0 {
			list = append(list, ts{t, s})
			sum += s
		}
	}
	if len(list) == 0 {
		return "", 0, "none", nil
	}
	// A stable insertion sort, highest score first: a few types at most.
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j].s > list[j-1].s; j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
	var sbuf [256]byte
	sb := sbuf[:0]
	for i, e := range list {
		if i > 0 {
			sb = append(sb, ' ')
		}
		sb = append(sb, e.t...)
		sb = append(sb, '=')
		sb = strconv.AppendFloat(sb, e.s, 'f', 2, 64)
	}
	confOf := func(i int) float64 {
		s := list[i].s
		other := 0.0
		if i == 0 && len(list) > 1 {
			other = list[1].s
		} else if i > 0 {
			other = list[0].s
		}
		evidence := s / (s + evidenceHalf)
		share := s / sum
		margin := max(0, (s-other)/s)
		return round2(evidence * (share + margin) / 2)
	}
	cands = make([]Candidate, min(len(list), MaxCandidates))
	for i := range cands {
		cands[i] = Candidate{Type: list[i].t, Score: round2(list[i].s), Confidence: confOf(i)}
	}
	return list[0].t, confOf(0), string(sb), cands
}

// forwardRequester returns the original asker named in a forward header,
// if it is a person outside our own mailboxes with an address (looked up
// by name among To and Cc when the header gives only a name).
func (c *Classifier) forwardRequester(m *Message, a Address) (Address, bool) {
	if a.Address == "" && a.Name != "" {
		fn := foldText(a.Name)
		for _, cand := range append(slices.Clone(m.Cc), m.To...) {
			if foldText(cand.Name) == fn {
				a = cand
				break
			}
		}
	}
	if a.Address == "" || !strings.Contains(a.Address, "@") {
		return Address{}, false
	}
	a.Address = strings.ToLower(a.Address)
	if slices.Contains(c.own, a.Address) || a.Address == strings.ToLower(m.From.Address) {
		return Address{}, false
	}
	if a.Name == "" {
		for _, cand := range append(slices.Clone(m.Cc), m.To...) {
			if strings.EqualFold(cand.Address, a.Address) {
				a.Name = cand.Name
			}
		}
	}
	return a, true
}

// Summary is a short human line, e.g. "new clinic (0.72) from Saskia
// Tromphof <s.tromphof@…>, Samenwerkingsverband …, 035 – 677 20 41".
func (c Classification) Summary() string {
	var b strings.Builder
	b.WriteString(string(c.Kind))
	if c.Kind == KindNew && c.Type != "" {
		b.WriteString(" " + string(c.Type))
		fmt.Fprintf(&b, " (%.2f)", c.Confidence)
	}
	if c.TicketRef != "" {
		b.WriteString(" " + c.TicketRef)
	}
	if c.Requester.Address != "" || c.Requester.Name != "" {
		b.WriteString(" from ")
		switch {
		case c.Requester.Name != "" && c.Requester.Address != "":
			b.WriteString(c.Requester.Name + " <" + c.Requester.Address + ">")
		case c.Requester.Address != "":
			b.WriteString(c.Requester.Address)
		default:
			b.WriteString(c.Requester.Name)
		}
	}
	if c.Org != "" {
		b.WriteString(", " + c.Org)
	}
	if c.Phone != "" {
		b.WriteString(", " + c.Phone)
	}
	return b.String()
}

// Subject handling.

// subjectPrefix returns the first reply or forward prefix of a folded
// subject when it is in list ("re", "fw", …), else "".
func subjectPrefix(fsubj string, list []string) string {
	start, end, ok := matchSubjectPrefix(fsubj)
	if !ok {
		return ""
	}
	if i := slices.Index(list, fsubj[start:end]); i >= 0 {
		return list[i] // not a part of fsubj, which may be a buffer's
	}
	return ""
}

// matchSubjectPrefix matches the regular expression
//
//	^\s*(?:\[[^\]]*\]\s*)?([a-z]{1,8})\s*(?:\[\d+\]|\(\d+\))?\s*:
//
// ("Re:", "[ext] Fwd[2]:", "AW (3) :" folded) and returns the bounds of
// its word. Every part of it can match in one way only.
func matchSubjectPrefix(f string) (start, end int, ok bool) {
	i := skipRESpace(f, 0)
	if i < len(f) && f[i] == '[' {
		j := strings.IndexByte(f[i:], ']')
		if j < 0 {
			return 0, 0, false
		}
		i = skipRESpace(f, i+j+1)
	}
	start = i
	for i < len(f) && 'a' <= f[i] && f[i] <= 'z' {
		i++
	}
	end = i
	if n := end - start; n < 1 || n > 8 {
		return 0, 0, false
	}
	i = skipRESpace(f, i)
	if i < len(f) && (f[i] == '[' || f[i] == '(') {
		closing := byte(']')
		if f[i] == '(' {
			closing = ')'
		}
		d := digitRun(f, i+1)
		if d == 0 || i+1+d >= len(f) || f[i+1+d] != closing {
			return 0, 0, false
		}
		i = skipRESpace(f, i+d+2)
	}
	if i < len(f) && f[i] == ':' {
		return start, end, true
	}
	return 0, 0, false
}

// skipRESpace returns the index of the first byte from i on that is not
// white space as \s of regexp means it.
func skipRESpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\f' || s[i] == '\r') {
		i++
	}
	return i
}

// cleanSubject removes all leading reply and forward prefixes.
func cleanSubject(s string) string {
	return cleanSubjectFolded(s, "")
}

// cleanSubjectFolded is cleanSubject with fs, when not "", foldText(s).
func cleanSubjectFolded(s, fs string) string {
	for i := 0; i < 10; i++ {
		if strings.IndexByte(s, ':') < 0 {
			break // no prefix without a colon; folding keeps colons
		}
		f := fs
		if i > 0 || f == "" {
			f = foldText(s)
		}
		start, end, ok := matchSubjectPrefix(f)
		if !ok {
			break
		}
		p := f[start:end]
		if !slices.Contains(replyPrefixes, p) && !slices.Contains(forwardPrefixes, p) {
			break
		}
		// foldText keeps byte offsets only for ASCII; cut at the colon.
		colon := strings.Index(s, ":")
		if colon < 0 {
			break
		}
		s = strings.TrimSpace(s[colon+1:])
	}
	return s
}

// Text folding and tokens.

// foldText lower-cases s, folds diacritics and typographic punctuation to
// ASCII ("Financiën – “OPR”" becomes "financien - \"opr\"") and drops soft
// hyphens and zero-width characters.
func foldText(s string) string {
	i := foldedPrefix(s)
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	start := 0 // of a run of bytes that fold to themselves
	for {
		i += foldedPrefix(s[i:])
		if i == len(s) {
			break
		}
		b.WriteString(s[start:i])
		if c := s[i]; c < utf8.RuneSelf { // upper case
			b.WriteByte(c + 'a' - 'A')
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			if f, lr := foldRune(r); lr < 0 {
				b.WriteString(f)
			} else {
				b.WriteRune(lr)
			}
			i += size
		}
		start = i
	}
	b.WriteString(s[start:])
	return b.String()
}

// foldedPrefix returns the length of the longest prefix of s that
// foldText leaves as it is: ASCII without upper case. It looks at eight
// bytes at a time.
func foldedPrefix(s string) int {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; len(s)-i >= 8; i += 8 {
		b := s[i : i+8]
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		// Without a high bit no byte carries: b+0x3f has it from 'A' up,
		// b+0x25 from 'Z'+1 up.
		if w&high != 0 || (w+(0x80-'A')*ones)&^(w+(0x80-'Z'-1)*ones)&high != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			break
		}
	}
	return i
}

// appendFold appends foldText(s) to dst.
func appendFold(dst []byte, s string) []byte {
	return appendFoldUntil(dst, s, math.MaxInt)
}

// appendFoldUntil appends foldText(s) to dst rune by rune until dst holds
// at least limit bytes or s ends.
func appendFoldUntil(dst []byte, s string, limit int) []byte {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	for i := 0; i < len(s) && len(dst) < limit; {
		// Eight ASCII bytes at a time, as in foldedPrefix: upper case
		// gets bit 5. Not past limit, which rune by rune stops at.
		for ; len(s)-i >= 8 && len(dst) <= limit-8; i += 8 {
			b := s[i : i+8]
			w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
				uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
			if w&high != 0 {
				break
			}
			upper := (w + (0x80-'A')*ones) &^ (w + (0x80-'Z'-1)*ones) & high
			dst = binary.LittleEndian.AppendUint64(dst, w|upper>>2)
		}
		if i == len(s) || len(dst) >= limit {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		dst = appendFoldRune(dst, r)
		i += size
	}
	return dst
}

// appendFoldRune appends the folding of the non-ASCII rune r to dst.
func appendFoldRune(dst []byte, r rune) []byte {
	f, lr := foldRune(r)
	if lr < 0 {
		return append(dst, f...)
	}
	return utf8.AppendRune(dst, lr)
}

// foldRune folds a non-ASCII rune: to the string f when lr < 0, else to
// the rune lr.
func foldRune(r rune) (f string, lr rune) {
	switch {
	case r < rune(len(foldLatin)):
		return foldLatin[r], -1
	case r >= 0x2000 && r < 0x2000+rune(len(foldPunct)):
		return foldPunct[r-0x2000], -1
	}
	return foldRuneMap(r)
}

func foldRuneMap(r rune) (string, rune) {
	if f, ok := foldMap[r]; ok {
		return f, -1
	}
	lr := unicode.ToLower(r)
	if f, ok := foldMap[lr]; ok {
		return f, -1
	}
	return "", lr
}

// foldLatin and foldPunct hold foldRune's answer for the Latin letters and
// the general punctuation that mail text is mostly made of.
var foldLatin, foldPunct = func() (latin [0x250]string, punct [0x70]string) {
	str := func(r rune) string {
		if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			return string(r)
		}
		f, lr := foldRuneMap(r)
		if lr >= 0 {
			return string(lr)
		}
		return f
	}
	for r := range latin {
		latin[r] = str(rune(r))
	}
	for r := range punct {
		punct[r] = str(0x2000 + rune(r))
	}
	return latin, punct
}()

var foldMap = func() map[rune]string {
	m := map[rune]string{
		'æ': "ae", 'œ': "oe", 'ß': "ss", 'ĳ': "ij", 'Ĳ': "ij", 'þ': "th", 'ð': "d", 'ø': "o", 'ł': "l", 'đ': "d",
		'\u00a0': " ", '\u2007': " ", '\u202f': " ", '\u2009': " ", '\u200a': " ", '\u2002': " ", '\u2003': " ",
		'\u00ad': "", '\u200b': "", '\u200c': "", '\u200d': "", '\ufeff': "",
		'\u2018': "'", '\u2019': "'", '\u201a': "'", '\u201b': "'", '\u2032': "'", '`': "'", '´': "'",
		'\u201c': `"`, '\u201d': `"`, '\u201e': `"`, '\u201f': `"`, '«': `"`, '»': `"`,
		'\u2010': "-", '\u2011': "-", '\u2012': "-", '\u2013': "-", '\u2014': "-", '\u2015': "-", '\u2212': "-",
		'\u2026': "...",
	}
	groups := map[string]string{
		"a": "àáâãäåāăą", "c": "çćĉċč", "d": "ď", "e": "èéêëēĕėęě", "g": "ĝğġģ", "h": "ĥħ",
		"i": "ìíîïĩīĭįı", "j": "ĵ", "k": "ķ", "l": "ĺļľŀ", "n": "ñńņňŉ", "o": "òóôõöōŏő",
		"r": "ŕŗř", "s": "śŝşš", "t": "ţťŧ", "u": "ùúûüũūŭůűų", "w": "ŵ", "y": "ýÿŷ", "z": "źżž",
	}
	for to, from := range groups {
		for _, r := range from {
			m[r] = to
		}
	}
	return m
}()

// wordPat is one word of a phrase: exact, or with '*' at either end.
type wordPat struct {
	s             string
	anyPre, anySu bool // '*' before (suffix match) / after (prefix match)
}

func (w wordPat) match(tok string) bool {
	switch {
	case w.anyPre && w.anySu:
		return strings.Contains(tok, w.s)
	case w.anySu:
		return strings.HasPrefix(tok, w.s)
	case w.anyPre:
		return strings.HasSuffix(tok, w.s)
	default:
		return tok == w.s
	}
}

// pattern is a compiled phrase.
type pattern struct {
	text  string // normalised phrase, as shown in reasons
	words []wordPat
	ids   []int // of words, in Classifier.words
}

// compilePattern normalises a phrase with the text tokenizer, keeping '*'
// at word ends. It fails for a phrase without any letter or digit.
func compilePattern(phrase string) (pattern, bool) {
	var words []wordPat
	for _, f := range strings.Fields(phrase) {
		pre := strings.HasPrefix(f, "*")
		suf := strings.HasSuffix(f, "*")
		toks := wordsOf(strings.Trim(f, "*"))
		for i, t := range toks {
			words = append(words, wordPat{s: t, anyPre: pre && i == 0, anySu: suf && i == len(toks)-1})
		}
	}
	if len(words) == 0 {
		return pattern{}, false
	}
	parts := make([]string, len(words))
	for i, w := range words {
		s := w.s
		if w.anyPre {
			s = "*" + s
		}
		if w.anySu {
			s += "*"
		}
		parts[i] = s
	}
	return pattern{text: strings.Join(parts, " "), words: words}, true
}

func compileWords(list []string) []wordPat {
	var out []wordPat
	for _, s := range list {
		if p, ok := compilePattern(s); ok && len(p.words) == 1 {
			out = append(out, p.words[0])
		}
	}
	return out
}

// wordsOf splits folded text into words of letters and digits.
func wordsOf(s string) []string {
	return strings.FieldsFunc(foldText(s), func(r rune) bool { return !isWordRune(r) || r == '_' })
}

// token is one word of a document, folded at start:end of its text
// (doc.word), with its zone and clause. It holds no pointer: the garbage
// collector need not look at token lists.
type token struct {
	start, end int32
	zone       int // 0 subject, 1 first paragraph, 2 rest of the body
	clause     int
}

type doc struct {
	toks []token
	ix   *docIndex // set by Classifier.index
	text *docText  // holds the bytes of the tokens
}

// word returns the folded text of the token at position i, a view of
// d.text valid until d.release.
func (d *doc) word(i int) string {
	t := d.toks[i]
	return unsafe.String(&d.text.buf[t.start], int(t.end-t.start))
}

// release gives the buffer that holds the tokens' text, and d itself,
// back to docTexts: d must not be used after it.
func (d *doc) release() {
	if t := d.text; t != nil && cap(t.buf) <= 1<<20 {
		d.text = nil
		docTexts.Put(t)
	}
}

var urlRe = regexp.MustCompile(`(?i)(?:https?://|www\.)[^\s<>()\[\]"]+`)

// replaceEmails replaces every e-mail address in s by a space, as
// emailRe.ReplaceAllString(s, " ") of the regular expression
//
//	[^\s<>()\[\]"',;:]+@[^\s<>()\[\]"',;:]+
//
// does (emailRe in classify_test.go): a match is a whole run of bytes
// that are not one of those delimiters ('@' is none), when an '@' in it
// has a byte of the run before and after it.
func replaceEmails(s string) string {
	var b []byte
	last := 0 // end of the text copied to b
	for i := 0; i < len(s); {
		if emailDelim[s[i]] {
			i++
			continue
		}
		start := i
		email := false
		for ; i < len(s) && !emailDelim[s[i]]; i++ {
			if s[i] == '@' && i > start && i+1 < len(s) && !emailDelim[s[i+1]] {
				email = true
			}
		}
		if email {
			if b == nil {
				b = make([]byte, 0, len(s))
			}
			b = append(append(b, s[last:start]...), ' ')
			last = i
		}
	}
	if b == nil {
		return s
	}
	return string(append(b, s[last:]...))
}

// emailDelim marks the bytes that end an e-mail address for
// replaceEmails: white space as \s of regexp means it, and <>()[]"',;:.
var emailDelim = func() (set [256]bool) {
	for _, c := range []byte(" \t\n\f\r<>()[]\"',;:") {
		set[c] = true
	}
	return set
}()

// tokenizeDoc builds the token list of subject, body (whose first
// paragraph after the salutation is the lead zone) and rest (body zone).
func tokenizeDoc(subject, body, rest string) *doc {
	return tokenizeDocInto(nil, subject, splitLines(body), splitLines(rest))
}

// tokenizeDocInto is tokenizeDoc on the lines of body and rest, appending
// the tokens to buf[:0]. The tokens are substrings of a buffer that
// d.release may give back for reuse.
func tokenizeDocInto(buf []token, subject string, body, rest []string) *doc {
	t := docTexts.Get().(*docText)
	t.doc = doc{toks: buf[:0]}
	d := &t.doc
	t.buf = t.buf[:0]
	clause := 0
	t.subject[0] = subject
	t.add(t.subject[:], 0, &clause)
	paras := paragraphsInto(t.paras, body)
	lead := -1
	for i, p := range paras {
		if linesHaveWords(p, 3) {
			lead = i
			break
		}
	}
	for i, p := range paras {
		z := 2
		if i == lead {
			z = 1
		}
		t.add(p, z, &clause)
	}
	paras = paragraphsInto(paras, rest)
	for _, p := range paras {
		t.add(p, 2, &clause)
	}
	clear(paras)
	t.paras = paras[:0]
	t.subject[0] = ""
	// Eight bytes to spare after the text: keyAt reads eight bytes at a
	// time.
	t.buf = slices.Grow(t.buf, 8)
	d.text = t
	return d
}

// docText is the folded text of a document, which its tokens are offsets
// in.
type docText struct {
	buf []byte

	doc     doc        // the document, whose tokens are in buf
	paras   [][]string // scratch for paragraphs
	subject [1]string  // the subject as the lines of its paragraph
}

var docTexts = sync.Pool{New: func() any { return new(docText) }}

// linesHaveWords reports whether the lines of a text hold at least n words
// as wordsOf counts them.
func linesHaveWords(lines []string, n int) bool {
	count := 0
	for _, l := range lines {
		if count += countWordsFold(l, n-count); count >= n {
			return true
		}
	}
	return false
}

// paragraphsInto splits the lines of a text at blank lines into runs of
// lines, appended to out[:0], and drops a salutation line at the start of
// the first paragraph.
func paragraphsInto(out [][]string, lines []string) [][]string {
	out = out[:0]
	start := -1 // of the current paragraph
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			if start >= 0 {
				out = append(out, lines[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			if len(out) == 0 && isSalutation(l) {
				continue
			}
			start = i
		}
	}
	if start >= 0 {
		out = append(out, lines[start:])
	}
	return out
}

// isSalutation reports whether line opens the mail ("Geachte heer,
// mevrouw,", "Beste projectleiders,", "Goedemorgen,", "Dear colleagues,").
func isSalutation(line string) bool {
	// Every salutation starts with one of a few letters: most lines are
	// ruled out by their first word's first byte when it is ASCII.
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c >= utf8.RuneSelf {
			break // the rune may fold to a letter: look at the whole line
		}
		if asciiClass[c] == classWord {
			if !salutationStarts[c|0x20] {
				return false
			}
			break
		}
	}
	if countWordsFold(line, 9) > 8 {
		return false // cheaper than folding a long line
	}
	if isASCII(line) {
		// Folding is lower-casing: no string needs building.
		var fb, jb [128]byte
		f := bytes.TrimSpace(appendLowerASCII(fb[:0], line))
		j, n, _ := appendASCIIWords(jb[:0], f)
		if n == 0 || n > 8 {
			return false
		}
		for _, s := range salutationWords {
			if hasLeadPhrase(j, s) {
				return n <= 6 || bytes.HasSuffix(f, []byte(","))
			}
		}
		return false
	}
	f := strings.TrimSpace(foldText(line))
	ws := wordsOf(f)
	if len(ws) == 0 || len(ws) > 8 {
		return false
	}
	j := strings.Join(ws, " ")
	for _, s := range salutationWords {
		if j == s || strings.HasPrefix(j, s+" ") {
			return len(ws) <= 6 || strings.HasSuffix(f, ",")
		}
	}
	return false
}

// salutationStarts marks the first bytes of salutationWords.
var salutationStarts = func() (set [256]bool) {
	for _, w := range salutationWords {
		set[w[0]] = true
	}
	return set
}()

// appendLowerASCII appends the ASCII text s in lower case to dst: its
// foldText.
func appendLowerASCII(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendASCIIWords appends strings.Join(wordsOf(s), " ") to dst for an
// ASCII text s without upper case, and returns n, the number of words,
// and the second word.
func appendASCIIWords[T string | []byte](dst []byte, s T) (j []byte, n int, w1 T) {
	for i := 0; i < len(s); {
		if asciiClass[s[i]] != classWord {
			i++
			continue
		}
		k := i + 1
		for k < len(s) && asciiClass[s[k]] == classWord {
			k++
		}
		if n > 0 {
			dst = append(dst, ' ')
		}
		if n == 1 {
			w1 = s[i:k]
		}
		dst = append(dst, s[i:k]...)
		n++
		i = k
	}
	return dst, n, w1
}

// hasLeadPhrase reports whether j is the words of p, or starts with them
// and a space.
func hasLeadPhrase(j []byte, p string) bool {
	return len(j) >= len(p) && string(j[:len(p)]) == p && (len(j) == len(p) || j[len(p)] == ' ')
}

// add folds the lines of a paragraph into t and adds their tokens in zone
// z. Punctuation that ends a clause (. , ; : ! ? and paragraph breaks)
// starts a new clause.
func (t *docText) add(lines []string, z int, clause *int) {
	*clause++
	for _, text := range lines {
		if strings.IndexByte(text, '@') >= 0 {
			text = replaceEmails(text)
		}
		if mayHaveURL(text) {
			text = urlRe.ReplaceAllString(text, " ")
		}
		from := len(t.buf)
		t.buf = appendFold(t.buf, text)
		// A token is a run of word runes of the folded text.
		folded := t.buf
		start := -1
		for i := from; i < len(folded); {
			c := folded[i]
			class, size := asciiClass[c], 1
			if class == classWord {
				if start < 0 {
					start = i
				}
				i = asciiWordEnd(folded, i+1)
				continue
			}
			if c >= utf8.RuneSelf {
				var r rune
				r, size = utf8.DecodeRune(folded[i:])
				if isWordRune(r) {
					class = classWord
				}
			}
			switch class {
			case classWord:
				if start < 0 {
					start = i
				}
			default:
				if start >= 0 {
					t.addToken(start, i, z, *clause)
					start = -1
				}
				if class == classClauseEnd {
					*clause++
				}
			}
			i += size
		}
		if start >= 0 {
			t.addToken(start, len(folded), z, *clause)
		}
	}
	*clause++
}

// asciiWordEnd returns the index of the first byte of b from i on that is
// not an ASCII word byte (asciiClass), looking at eight bytes at a time.
func asciiWordEnd(b []byte, i int) int {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	for ; len(b)-i >= 8; i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if w&high != 0 {
			break
		}
		// Without a high bit no byte carries, as in foldedPrefix.
		word := (w+(0x80-'a')*ones)&^(w+(0x80-'z'-1)*ones) |
			(w+(0x80-'A')*ones)&^(w+(0x80-'Z'-1)*ones) |
			(w+(0x80-'0')*ones)&^(w+(0x80-'9'-1)*ones)
		if other := ^word & high; other != 0 {
			return i + bits.TrailingZeros64(other)>>3
		}
	}
	for i < len(b) && asciiClass[b[i]] == classWord {
		i++
	}
	return i
}

// addToken adds the token folded into t.buf at start:end.
func (t *docText) addToken(start, end, z, clause int) {
	t.doc.toks = append(t.doc.toks, token{start: int32(start), end: int32(end), zone: z, clause: clause})
}

// Classes of ASCII bytes for docText.add: a word rune other than '_', a
// punctuation mark that ends a clause, anything else.
const (
	classOther = iota
	classWord
	classClauseEnd
)

var asciiClass = func() (t [256]uint8) {
	for c := range utf8.RuneSelf {
		switch r := rune(c); {
		case r == '_':
		case isWordRune(r):
			t[c] = classWord
		case r == '.' || r == ',' || r == ';' || r == ':' || r == '!' || r == '?':
			t[c] = classClauseEnd
		}
	}
	return t
}()

// findIDs appends to out the start positions where the pattern whose
// word ids are ids matches, within one zone.
func (d *doc) findIDs(out []int, ids []int) []int {
	n := len(ids)
	for _, i := range d.ix.at(ids[0]) {
		if i+n > len(d.toks) {
			break
		}
		ok := true
		for k := 1; k < n; k++ {
			if d.toks[i+k].zone != d.toks[i].zone || !d.ix.has(i+k, ids[k]) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, i)
		}
	}
	return out
}

// matchAt reports whether p matches at position i within one clause.
func (d *doc) matchAt(p pattern, i int) bool {
	if i < 0 || i+len(p.words) > len(d.toks) {
		return false
	}
	for k, id := range p.ids {
		if d.toks[i+k].clause != d.toks[i].clause || !d.ix.has(i+k, id) {
			return false
		}
	}
	return true
}

// modifier returns the factor for a term of n words at pos of type t and
// why, when it is less than 1: a term right after "geen" or next to
// "niet" is negated ("het moet geen training worden"), one in a clause
// that tells what happened before is context ("vorig jaar hebben jullie
// een clinic gegeven"; not for the types whose mail is about what was done,
// and not in a clause that also asks), one in a clause that puts it off is
// deferred.
func (c *Classifier) modifier(d *doc, pos, n int, t Type) (float64, string) {
	switch {
	case d.negated(pos, n):
		return negationFactor, "negated"
	case !slices.Contains(pastExempt, t) && d.clauseHas(pos, clausePast) && !d.clauseHas(pos, clauseIntent):
		return pastFactor, "past"
	case d.clauseHas(pos, clauseDefer):
		return deferFactor, "deferred"
	}
	return 1, ""
}

// negated reports whether the n words at pos follow a negation within two
// words, or "niet"/"not" stands within two words after them, in the clause.
func (d *doc) negated(pos, n int) bool {
	cl := d.toks[pos].clause
	for i := pos - 1; i >= max(0, pos-2); i-- {
		if d.toks[i].clause != cl {
			break
		}
		if slices.Contains(negationWords, d.word(i)) {
			return true
		}
	}
	for i := pos + n; i < min(len(d.toks), pos+n+2); i++ {
		if d.toks[i].clause != cl {
			break
		}
		if w := d.word(i); w == "niet" || w == "not" {
			return true
		}
	}
	return false
}

// clauseHas reports whether the clause of position pos contains one of
// the phrases of flag (clauseIntent, clauseDefer, clausePast).
func (d *doc) clauseHas(pos int, flag uint8) bool {
	return d.ix.clause[d.toks[pos].clause]&flag != 0
}

// typeWord is an occurrence of a type word (a term of weight >=
// intentMinWeight) outside a deferring clause.
type typeWord struct {
	pos, n int
	t      int // index in Types
	text   string
}

// intents finds every intent phrase and gives it to the nearest type word
// in its clause within intentWindow words ("namens de ondersteuningsplanraad
// wil ik graag de praktijktoets aanvragen" is an intent for the
// praktijktoets, not for the OPR). It returns per type (in the order of
// Types) what matched.
func (d *doc) intents(intents []pattern, words []typeWord) []string {
	out := slices.Grow(d.ix.intentOut[:0], len(Types))[:len(Types)]
	clear(out)
	d.ix.intentOut = out
	// The type words per clause, in the order of words (ties go to the
	// first): a list from head[clause] on through next.
	var head, next []int32
	for wi, bs := range d.ix.intentPos {
		for ; bs != 0; bs &= bs - 1 {
			i := wi*64 + bits.TrailingZeros64(bs)
			j := d.ix.intentAt[i] - 1
			if head == nil {
				head, next = d.ix.clauseWords(d, words)
			}
			p := intents[j]
			best, bestDist := -1, intentWindow+1
			for k := head[d.toks[i].clause]; k >= 0; k = next[k] {
				w := words[k]
				var dist int
				switch {
				case w.pos >= i+len(p.words):
					dist = w.pos - (i + len(p.words) - 1)
				case w.pos+w.n <= i:
					dist = i - (w.pos + w.n - 1)
				default:
					continue // overlapping: the intent is part of the term
				}
				if dist < bestDist || (dist == bestDist && best >= 0 && w.t < words[best].t) {
					best, bestDist = int(k), dist
				}
			}
			if best >= 0 {
				w := words[best]
				if out[w.t] == "" {
					out[w.t] = p.text + " … " + w.text
				}
			}
		}
	}
	return out
}

func typeIndex(t Type) int { return slices.Index(Types, t) }

// near reports whether a word of a and a word of b occur within window
// words of each other in one zone.
func (d *doc) near(a []int, b []idMask, window int) bool {
	for _, id := range a {
		for _, i := range d.ix.at(id) {
			t := d.toks[i]
			for j := max(0, i-window); j <= min(len(d.toks)-1, i+window); j++ {
				if j != i && d.toks[j].zone == t.zone && d.ix.hasAnyMask(j, b) {
					return true
				}
			}
		}
	}
	return false
}

// zoneSet returns the bit set of the zones with a factor above 0.
func zoneSet(z [3]float64) int {
	k := 0
	for i := range z {
		if z[i] > 0 {
			k |= 1 << i
		}
	}
	return k
}

// zoneNameSets names the zones per bit set of them (subject 1, lead 2,
// body 4).
var zoneNameSets = func() (names [8]string) {
	for k := range names {
		var parts []string
		for i, n := range []string{"subject", "lead", "body"} {
			if k&(1<<i) != 0 {
				parts = append(parts, n)
			}
		}
		names[k] = strings.Join(parts, "+")
	}
	return names
}()

// msgHeader looks up the top-level header fields of a message by name,
// case-insensitively.
type msgHeader struct {
	h     map[string][]string
	exact bool // every key is canonical and ASCII: no other key matches
	// For an exact header, the fields of hdrNames that it has: found in
	// the one pass that checks its keys instead of a map lookup each.
	present uint32
	vals    [numHdr][]string
}

// The header fields that classification reads, numbered for msgHeader.
const (
	hdrContentType = iota
	hdrFailedRecipients
	hdrExchangeNDR
	hdrAutoSubmitted
	hdrAutoreply
	hdrAutorespond
	hdrAutoresponder
	hdrPrecedence
	hdrListID
	hdrListUnsubscribe
	hdrAutoResponseSuppress
	hdrReturnPath
	numHdr
)

// hdrNames are the canonical names of the fields by number.
var hdrNames = [numHdr]string{
	"Content-Type", "X-Failed-Recipients", "X-Ms-Exchange-Message-Is-Ndr", "Auto-Submitted",
	"X-Autoreply", "X-Autorespond", "X-Autoresponder", "Precedence", "List-Id", "List-Unsubscribe",
	"X-Auto-Response-Suppress", "Return-Path",
}

// hdrNumber returns the number of the canonical field name k, or -1.
func hdrNumber(k string) int {
	switch k {
	case "Content-Type":
		return hdrContentType
	case "X-Failed-Recipients":
		return hdrFailedRecipients
	case "X-Ms-Exchange-Message-Is-Ndr":
		return hdrExchangeNDR
	case "Auto-Submitted":
		return hdrAutoSubmitted
	case "X-Autoreply":
		return hdrAutoreply
	case "X-Autorespond":
		return hdrAutorespond
	case "X-Autoresponder":
		return hdrAutoresponder
	case "Precedence":
		return hdrPrecedence
	case "List-Id":
		return hdrListID
	case "List-Unsubscribe":
		return hdrListUnsubscribe
	case "X-Auto-Response-Suppress":
		return hdrAutoResponseSuppress
	case "Return-Path":
		return hdrReturnPath
	}
	return -1
}

func headerOf(m *Message, h *msgHeader) {
	*h = msgHeader{h: m.Header, exact: true}
	for k, v := range m.Header {
		if !isASCII(k) || !isCanonicalKey(k) {
			h.exact = false
			break
		}
		if n := hdrNumber(k); n >= 0 {
			h.present |= 1 << n
			h.vals[n] = v
		}
	}
}

// field returns the values of field n of hdrNames and whether it is
// present.
func (h *msgHeader) field(n int) ([]string, bool) {
	if h.exact {
		return h.vals[n], h.present&(1<<n) != 0
	}
	return h.values(hdrNames[n])
}

// hasField reports whether field n of hdrNames is present.
func (h *msgHeader) hasField(n int) bool {
	_, ok := h.field(n)
	return ok
}

// fieldValue returns the first value of field n of hdrNames, or "".
func (h *msgHeader) fieldValue(n int) string {
	if v, _ := h.field(n); len(v) > 0 {
		return v[0]
	}
	return ""
}

// isCanonicalKey reports whether canonicalKey(k) == k without building
// the canonical key: textproto leaves a key with a byte that is not a
// token byte as it is; any other key is canonical when its first letter
// and every letter after '-' is upper case and all others lower case.
func isCanonicalKey(k string) bool {
	canonical, upper := true, true
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch headerKeyClass[c] {
		case keyInvalid:
			return true
		case keyLower:
			canonical = canonical && !upper
		case keyUpper:
			canonical = canonical && upper
		}
		upper = c == '-'
	}
	return canonical
}

// Classes of bytes in a header key for isCanonicalKey.
const (
	keyInvalid = iota // not a token byte (RFC 7230), e.g. space or non-ASCII
	keyOther
	keyLower
	keyUpper
)

var headerKeyClass = func() (t [256]uint8) {
	for c := range t {
		switch {
		case 'a' <= c && c <= 'z':
			t[c] = keyLower
		case 'A' <= c && c <= 'Z':
			t[c] = keyUpper
		case '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0:
			t[c] = keyOther
		}
	}
	return t
}()

// values returns the values of the field key (an ASCII field name) and
// whether it is present.
func (h *msgHeader) values(key string) ([]string, bool) {
	if h.h == nil {
		return nil, false
	}
	ck := key // the callers' keys are canonical already
	if !isCanonicalKey(key) {
		ck = canonicalKey(key)
	}
	if v, ok := h.h[ck]; ok {
		return v, true
	}
	if h.exact {
		return nil, false
	}
	for k, v := range h.h {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// maxClassifyText bounds the text that classification and contact
// extraction read. What a requester writes is far shorter; the rest is
// quoted history or attachments pasted inline.
const maxClassifyText = 64 << 10

// clipText returns s cut to at most n bytes, at the last line break before
// n when there is one, else at a rune boundary.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	if i := strings.LastIndexByte(s, '\n'); i > n/2 {
		return s[:i]
	}
	for len(s) > 0 && !utf8.RuneStart(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	if len(s) > 0 {
		if r, size := utf8.DecodeLastRuneInString(s); r == utf8.RuneError && size <= 1 {
			s = s[:len(s)-1]
		}
	}
	return s
}

func firstN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func round2(f float64) float64 {
	return float64(int64(f*100+signHalf(f))) / 100
}

func signHalf(f float64) float64 {
	if f < 0 {
		return -0.5
	}
	return 0.5
}
