package intake

import (
	"fmt"
	"mime"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
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
}

type compiledTerm struct {
	pat    pattern
	weight float64
}

type compiledNear struct {
	rule       nearRule
	a, b       []wordPat
	aIDs, bIDs []int // in Classifier.words
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
	fsubj := foldText(subject)

	// 1. Bounce.
	if rs := c.bounceRules(m, fsubj); len(rs) > 0 {
		cl.Kind = KindBounce
		cl.Confidence = 1
		cl.Reasons = append(cl.Reasons, rs...)
		c.bounceThread(m, th, &cl)
		return cl
	}

	// 2. Auto-reply.
	// Weak signals that did not add up are still worth showing, so the
	// reasons are kept either way.
	rs, auto := c.autoRules(m, fsubj)
	cl.Reasons = append(cl.Reasons, rs...)
	if auto {
		cl.Kind = KindAutoReply
		cl.Confidence = kindConfidence(rs)
		cl.ThreadMessageID, cl.TicketRef = c.threadOf(m, th, nil)
		c.contact(m, &cl, "")
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
		c.contact(m, &cl, "")
		return cl
	}
	if ref, ok := ParseTicketRef(subject, c.prefix); ok {
		cl.Kind = KindFollowUp
		cl.Confidence = 1
		cl.TicketRef = ref
		cl.ThreadMessageID, _ = c.threadOf(m, th, nil)
		cl.Reasons = append(cl.Reasons, Reason{Rule: "subject:ticket-ref", Detail: ref, Weight: 1})
		c.contact(m, &cl, "")
		return cl
	}

	// 4. New.
	cl.Kind = KindNew
	cl.Reasons = append(cl.Reasons, Reason{Rule: "kind:new", Detail: "no bounce, auto-reply or thread rule fired"})
	if p := subjectPrefix(fsubj, replyPrefixes); p != "" {
		cl.Reasons = append(cl.Reasons, Reason{Rule: "subject:reply-prefix-ignored", Detail: p})
	}
	if len(m.InReplyTo)+len(m.References) > 0 {
		cl.Reasons = append(cl.Reasons, Reason{Rule: "thread:unknown-message-id", Detail: "In-Reply-To/References name no known message"})
	}
	c.classifyNew(m, prior, &cl)
	return cl
}

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
func (c *Classifier) bounceRules(m *Message, fsubj string) []Reason {
	var rs []Reason
	ct, rt := m.ContentType, m.ReportType
	if ct == "" {
		if v := headerValue(m, "Content-Type"); v != "" {
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
	if fn := foldText(m.From.Name); fn != "" {
		for _, n := range bounceNames {
			if strings.Contains(fn, n) {
				rs = append(rs, Reason{Rule: "from:mail-delivery-name", Detail: m.From.Name, Weight: 1})
				break
			}
		}
	}
	if v := headerValue(m, "X-Failed-Recipients"); v != "" {
		rs = append(rs, Reason{Rule: "header:x-failed-recipients", Detail: v, Weight: 1})
	}
	if hasHeader(m, "X-MS-Exchange-Message-Is-Ndr") {
		rs = append(rs, Reason{Rule: "header:x-ms-exchange-message-is-ndr", Weight: 1})
	}
	s := strings.TrimLeft(fsubj, " [")
	for _, p := range bounceSubjectPrefixes {
		if strings.HasPrefix(s, p) {
			rs = append(rs, Reason{Rule: "subject:bounce", Detail: p, Weight: 1})
			break
		}
	}
	return rs
}

// autoRules returns the auto-reply rules that fired and whether they add
// up to an automatic message: one strong rule (weight 1) or two weak ones.
func (c *Classifier) autoRules(m *Message, fsubj string) ([]Reason, bool) {
	var rs []Reason
	if v := strings.ToLower(strings.TrimSpace(headerValue(m, "Auto-Submitted"))); v != "" {
		if base, _, _ := strings.Cut(v, ";"); strings.TrimSpace(base) != "no" {
			rs = append(rs, Reason{Rule: "header:auto-submitted", Detail: v, Weight: 1})
		}
	}
	for _, h := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder"} {
		if hasHeader(m, h) {
			if v := strings.ToLower(strings.TrimSpace(headerValue(m, h))); v != "no" && v != "false" {
				rs = append(rs, Reason{Rule: "header:" + strings.ToLower(h), Detail: headerValue(m, h), Weight: 1})
			}
		}
	}
	if v := strings.ToLower(strings.TrimSpace(headerValue(m, "Precedence"))); slices.Contains(autoPrecedence, v) {
		rs = append(rs, Reason{Rule: "header:precedence", Detail: v, Weight: 1})
	}
	for _, h := range []string{"List-Id", "List-Unsubscribe"} {
		if hasHeader(m, h) {
			rs = append(rs, Reason{Rule: "header:" + strings.ToLower(h), Detail: "newsletter or list mail, not a request", Weight: 1})
		}
	}
	if strings.EqualFold(m.ContentType, "multipart/report") && m.ReportType != "" && !strings.EqualFold(m.ReportType, "delivery-status") {
		rs = append(rs, Reason{Rule: "header:content-type", Detail: "multipart/report; report-type=" + m.ReportType, Weight: 1})
	}
	if from := strings.ToLower(m.From.Address); from != "" && slices.Contains(c.own, from) {
		rs = append(rs, Reason{Rule: "from:own-address", Detail: from + " (loop protection)", Weight: 1})
	}
	autoSubject := false
	s := strings.TrimLeft(fsubj, " [")
	for _, p := range autoSubjectPrefixes {
		if strings.HasPrefix(s, p) {
			rs = append(rs, Reason{Rule: "subject:auto-reply", Detail: p, Weight: 1})
			autoSubject = true
			break
		}
	}
	if !autoSubject {
		for _, p := range autoSubjectPhrases {
			if strings.Contains(fsubj, p) {
				rs = append(rs, Reason{Rule: "subject:auto-reply", Detail: p, Weight: 1})
				autoSubject = true
				break
			}
		}
	}
	// Weak signals.
	if hasHeader(m, "X-Auto-Response-Suppress") {
		rs = append(rs, Reason{Rule: "header:x-auto-response-suppress", Detail: headerValue(m, "X-Auto-Response-Suppress"), Weight: 0.5})
	}
	if hasHeader(m, "Return-Path") {
		if v := strings.TrimSpace(headerValue(m, "Return-Path")); v == "<>" || v == "" {
			rs = append(rs, Reason{Rule: "header:return-path-null", Detail: "<>", Weight: 0.5})
		}
	}
	body := foldText(firstN(m.Text, 3000))
	if p, ok := autoBodyIndex.first(body); ok {
		rs = append(rs, Reason{Rule: "body:out-of-office", Detail: p, Weight: 0.5})
	}
	sum := 0.0
	for _, r := range rs {
		if r.Weight >= 1 {
			return rs, true
		}
		sum += r.Weight
	}
	return rs, sum >= 1
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
	var ids []string
	for _, m := range messageIDLineRe.FindAllStringSubmatch(firstN(text, 20000), 5) {
		ids = append(ids, m[1])
	}
	return ids
}

// contact fills Org and Phone from the body; for a forward from the
// forwarded part first.
func (c *Classifier) contact(m *Message, cl *Classification, forwarded string) {
	if forwarded != "" {
		cl.Org, cl.Phone = ExtractContact(forwarded)
	}
	org, phone := ExtractContact(m.Text)
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
	rq := request{subject: cleanSubject(subject)}
	isFwdSubject := subjectPrefix(foldText(subject), forwardPrefixes) != ""
	if fp, ok := splitForward(text, isFwdSubject); ok && strings.TrimSpace(fp.Body) != "" {
		rq.fwd = &fp
		rq.body = StripSignature(StripQuoted(fp.Body))
		rq.rest = StripSignature(StripQuoted(fp.Note))
		if fs := cleanSubject(fp.Subject); fs != "" && !strings.EqualFold(fs, rq.subject) {
			rq.subject = strings.TrimSpace(rq.subject + " " + fs)
		}
		return rq
	}
	rq.body = StripSignature(StripQuoted(text))
	return rq
}

// classifyNew decides the request type of a new message.
func (c *Classifier) classifyNew(m *Message, prior Type, cl *Classification) {
	rq := requestOf(m.Subject, m.Text)
	if fp := rq.fwd; fp != nil {
		cl.Reasons = append(cl.Reasons, Reason{Rule: "forward:content", Detail: "classified on the forwarded message"})
		if a, ok := c.forwardRequester(m, fp.From); ok {
			cl.Requester = a
			cl.Reasons = append(cl.Reasons, Reason{Rule: "forward:requester", Detail: a.Address})
		}
		c.contact(m, cl, fp.Body)
	} else {
		c.contact(m, cl, "")
	}

	tb := tokenBufs.Get().(*[]token)
	doc := tokenizeDocInto(*tb, rq.subject, rq.body, rq.rest)
	defer func() {
		if cap(doc.toks) <= 1<<16 {
			clear(doc.toks)
			*tb = doc.toks[:0]
			tokenBufs.Put(tb)
		}
	}()
	defer c.index(doc)()
	scores := make(map[Type]float64, len(Types))
	var typeWords []typeWord

	for _, t := range Types {
		for _, term := range c.terms[t] {
			if term.weight == 0 {
				continue
			}
			var zoneMult [3]float64
			var zoneWhy [3]string
			for _, pos := range doc.find(term.pat) {
				mult, why := c.modifier(doc, pos, len(term.pat.words), t)
				z := doc.toks[pos].zone
				if mult > zoneMult[z] {
					zoneMult[z], zoneWhy[z] = mult, why
				}
				if term.weight >= intentMinWeight && mult == 1 {
					typeWords = append(typeWords, typeWord{pos: pos, n: len(term.pat.words), t: t, text: term.pat.text})
				}
			}
			factor := zoneMult[0]*subjectFactor + zoneMult[1]*leadFactor + zoneMult[2]*bodyFactor
			if factor == 0 {
				continue
			}
			w := round2(term.weight * factor)
			scores[t] += w
			var whys []string
			for _, why := range zoneWhy {
				if why != "" && !slices.Contains(whys, why) {
					whys = append(whys, why)
				}
			}
			cl.Reasons = append(cl.Reasons, Reason{
				Rule:   "type:" + string(t) + ":" + zoneNames(zoneMult) + ":" + term.pat.text,
				Detail: strings.Join(whys, ", "),
				Weight: w,
			})
		}
	}
	intent := doc.intents(c.intents, typeWords)
	for _, t := range Types {
		if ip := intent[t]; ip != "" {
			scores[t] += intentBonus
			cl.Reasons = append(cl.Reasons, Reason{Rule: "intent:" + string(t), Detail: ip, Weight: intentBonus})
		}
	}
	for _, n := range c.near {
		if doc.near(n.aIDs, n.bIDs, n.rule.Window) {
			scores[n.rule.Type] += n.rule.Weight
			cl.Reasons = append(cl.Reasons, Reason{Rule: "near:" + n.rule.Name + ":" + string(n.rule.Type), Weight: n.rule.Weight})
		}
	}
	for _, a := range adjustRules {
		if intent[a.When] != "" && scores[a.Scale] > 0 {
			d := round2(scores[a.Scale] * (a.Factor - 1))
			scores[a.Scale] += d
			cl.Reasons = append(cl.Reasons, Reason{Rule: "adjust:" + a.Name + ":" + string(a.Scale), Detail: fmt.Sprintf("×%g", a.Factor), Weight: d})
		}
	}
	switch {
	case prior == "" || prior == TypeOverig:
	case slices.Contains(Types, prior):
		// The mailbox speaks when the text does not: a request for
		// something else, without a word for the mailbox's type, gets
		// only part of the bonus.
		bonus, detail := priorBonus, "mailbox"
		if scores[prior] <= 0 {
			for _, t := range Types {
				if t != prior && scores[t] >= priorBonus {
					bonus, detail = round2(priorBonus*priorContraFactor), fmt.Sprintf("mailbox; ×%g: no word for it, %s has evidence", priorContraFactor, t)
					break
				}
			}
		}
		scores[prior] += bonus
		cl.Reasons = append(cl.Reasons, Reason{Rule: "prior:" + string(prior), Detail: detail, Weight: bonus})
	default:
		cl.Reasons = append(cl.Reasons, Reason{Rule: "prior:unknown-type", Detail: string(prior)})
	}

	top, conf, summary, cands := decide(scores)
	cl.Confidence = conf
	cl.Candidates = cands
	cl.Reasons = append(cl.Reasons, Reason{Rule: "type:scores", Detail: summary})
	switch {
	case top == "":
		cl.Type = TypeOverig
		cl.Reasons = append(cl.Reasons, Reason{Rule: "type:overig:no-evidence", Detail: "no term matched"})
	case top != TypeOverig && conf < c.threshold:
		cl.Type = TypeOverig
		cl.Reasons = append(cl.Reasons, Reason{Rule: "type:overig:below-threshold", Detail: fmt.Sprintf("below threshold: %s %.2f < %.2f", top, conf, c.threshold)})
	default:
		cl.Type = top
	}
}

// decide picks the type with the highest score (ties in the order of
// Types) and computes the confidence: evidence × (share + margin) / 2,
// where evidence = top/(top+evidenceHalf), share = top/sum and margin =
// (top−second)/top, over the positive scores. The candidates are the best
// MaxCandidates types with the confidence each would have as the decision
// (a runner-up has no margin).
func decide(scores map[Type]float64) (top Type, conf float64, summary string, cands []Candidate) {
	type ts struct {
		t Type
		s float64
	}
	var list []ts
	sum := 0.0
	for _, t := range Types {
		if s := scores[t]; s > 0 {
			list = append(list, ts{t, s})
			sum += s
		}
	}
	if len(list) == 0 {
		return "", 0, "none", nil
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].s > list[j].s })
	parts := make([]string, 0, len(list))
	for _, e := range list {
		parts = append(parts, string(e.t)+"="+strconv.FormatFloat(e.s, 'f', 2, 64))
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
	for i := range list[:min(len(list), MaxCandidates)] {
		cands = append(cands, Candidate{Type: list[i].t, Score: round2(list[i].s), Confidence: confOf(i)})
	}
	return list[0].t, confOf(0), strings.Join(parts, " "), cands
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

var subjectPrefixRe = regexp.MustCompile(`^\s*(?:\[[^\]]*\]\s*)?([a-z]{1,8})\s*(?:\[\d+\]|\(\d+\))?\s*:`)

// subjectPrefix returns the first reply or forward prefix of a folded
// subject when it is in list ("re", "fw", …), else "".
func subjectPrefix(fsubj string, list []string) string {
	m := subjectPrefixRe.FindStringSubmatch(fsubj)
	if m == nil || !slices.Contains(list, m[1]) {
		return ""
	}
	return m[1]
}

// cleanSubject removes all leading reply and forward prefixes.
func cleanSubject(s string) string {
	for i := 0; i < 10; i++ {
		f := foldText(s)
		m := subjectPrefixRe.FindStringSubmatchIndex(f)
		if m == nil {
			break
		}
		p := f[m[2]:m[3]]
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
	if f, ok := foldASCII(s); ok {
		return f
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		writeFolded(&b, r)
	}
	return b.String()
}

func writeFolded(b *strings.Builder, r rune) {
	if r < 0x80 {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
		return
	}
	if f, ok := foldMap[r]; ok {
		b.WriteString(f)
		return
	}
	lr := unicode.ToLower(r)
	if f, ok := foldMap[lr]; ok {
		b.WriteString(f)
		return
	}
	b.WriteRune(lr)
}

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

// token is one word of a document with its zone and clause.
type token struct {
	w      string
	zone   int // 0 subject, 1 first paragraph, 2 rest of the body
	clause int
}

type doc struct {
	toks []token
	ix   *docIndex // set by Classifier.index
}

var (
	emailRe = regexp.MustCompile(`[^\s<>()\[\]"',;:]+@[^\s<>()\[\]"',;:]+`)
	urlRe   = regexp.MustCompile(`(?i)(?:https?://|www\.)[^\s<>()\[\]"]+`)
)

// tokenizeDoc builds the token list of subject, body (whose first
// paragraph after the salutation is the lead zone) and rest (body zone).
func tokenizeDoc(subject, body, rest string) *doc {
	return tokenizeDocInto(nil, subject, body, rest)
}

// tokenizeDocInto is tokenizeDoc appending the tokens to buf[:0].
func tokenizeDocInto(buf []token, subject, body, rest string) *doc {
	d := &doc{toks: buf[:0]}
	clause := 0
	d.add(subject, 0, &clause)
	paras := paragraphs(body)
	lead := -1
	for i, p := range paras {
		if hasWords(p, 3) {
			lead = i
			break
		}
	}
	for i, p := range paras {
		z := 2
		if i == lead {
			z = 1
		}
		d.add(p, z, &clause)
	}
	for _, p := range paragraphs(rest) {
		d.add(p, 2, &clause)
	}
	return d
}

// paragraphs splits text at blank lines and drops a salutation line at the
// start of the first paragraph.
func paragraphs(text string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	for _, l := range splitLines(text) {
		if strings.TrimSpace(l) == "" {
			flush()
			continue
		}
		if len(out) == 0 && len(cur) == 0 && isSalutation(l) {
			continue
		}
		cur = append(cur, l)
	}
	flush()
	return out
}

// isSalutation reports whether line opens the mail ("Geachte heer,
// mevrouw,", "Beste projectleiders,", "Goedemorgen,", "Dear colleagues,").
func isSalutation(line string) bool {
	if countWordsFold(line, 9) > 8 {
		return false // cheaper than folding a long line
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

// add tokenises text into zone z. Punctuation that ends a clause (. , ; :
// ! ? and paragraph breaks) starts a new clause.
func (d *doc) add(text string, z int, clause *int) {
	if strings.IndexByte(text, '@') >= 0 {
		text = emailRe.ReplaceAllString(text, " ")
	}
	if mayHaveURL(text) {
		text = urlRe.ReplaceAllString(text, " ")
	}
	*clause++
	// A token is a run of word runes of the folded text, taken as a
	// substring of it rather than copied rune by rune.
	folded := foldText(text)
	start := -1
	flush := func(end int) {
		if start >= 0 {
			d.toks = append(d.toks, token{w: folded[start:end], zone: z, clause: *clause})
			start = -1
		}
	}
	for i, r := range folded {
		switch {
		case r == '_':
			flush(i)
		case isWordRune(r):
			if start < 0 {
				start = i
			}
		case r == '.' || r == ',' || r == ';' || r == ':' || r == '!' || r == '?':
			flush(i)
			*clause++
		default:
			flush(i)
		}
	}
	flush(len(folded))
	*clause++
}

// find returns the start positions where p matches, within one zone.
func (d *doc) find(p pattern) []int {
	var out []int
	n := len(p.words)
	for _, i := range d.ix.at[p.ids[0]] {
		if i+n > len(d.toks) {
			break
		}
		ok := true
		for k := 1; k < n; k++ {
			if d.toks[i+k].zone != d.toks[i].zone || !d.ix.has(i+k, p.ids[k]) {
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
		if slices.Contains(negationWords, d.toks[i].w) {
			return true
		}
	}
	for i := pos + n; i < min(len(d.toks), pos+n+2); i++ {
		if d.toks[i].clause != cl {
			break
		}
		if w := d.toks[i].w; w == "niet" || w == "not" {
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
	t      Type
	text   string
}

// intents finds every intent phrase and gives it to the nearest type word
// in its clause within intentWindow words ("namens de ondersteuningsplanraad
// wil ik graag de praktijktoets aanvragen" is an intent for the
// praktijktoets, not for the OPR). It returns per type what matched.
func (d *doc) intents(intents []pattern, words []typeWord) map[Type]string {
	out := make(map[Type]string)
	// The type words per clause, in the order of words (ties go to the
	// first).
	var byClause map[int][]int
	for i := range d.toks {
		if j := d.ix.intentAt[i]; j >= 0 {
			if byClause == nil {
				byClause = make(map[int][]int)
				for k, w := range words {
					cl := d.toks[w.pos].clause
					byClause[cl] = append(byClause[cl], k)
				}
			}
			p := intents[j]
			best, bestDist := -1, intentWindow+1
			for _, k := range byClause[d.toks[i].clause] {
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
				if dist < bestDist || (dist == bestDist && best >= 0 && typeIndex(w.t) < typeIndex(words[best].t)) {
					best, bestDist = k, dist
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
func (d *doc) near(a, b []int, window int) bool {
	for _, id := range a {
		for _, i := range d.ix.at[id] {
			t := d.toks[i]
			for j := max(0, i-window); j <= min(len(d.toks)-1, i+window); j++ {
				if j != i && d.toks[j].zone == t.zone && d.ix.hasAny(j, b) {
					return true
				}
			}
		}
	}
	return false
}

func zoneNames(z [3]float64) string {
	var parts []string
	for i, n := range []string{"subject", "lead", "body"} {
		if z[i] > 0 {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, "+")
}

// header returns the values of a top-level header field and whether it is
// present, matching the name case-insensitively.
func header(m *Message, key string) ([]string, bool) {
	if m.Header == nil {
		return nil, false
	}
	if v, ok := m.Header[canonicalKey(key)]; ok {
		return v, true
	}
	for k, v := range m.Header {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func hasHeader(m *Message, key string) bool {
	_, ok := header(m, key)
	return ok
}

// headerValue returns the first value of a header field, or "".
func headerValue(m *Message, key string) string {
	if v, _ := header(m, key); len(v) > 0 {
		return v[0]
	}
	return ""
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
