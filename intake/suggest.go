package intake

import (
	"math"
	"slices"
	"sort"
	"strings"
)

// Learning from corrections. When a project leader changes a ticket's
// request type, the classifier missed something that the requester wrote.
// Terms reads a request as the classifier does, and SuggestTerms compares
// the corrected tickets of a type with the tickets of the other types to
// find the words and two-word phrases that set them apart, for an operator
// to adopt into [classification.terms] (`loket rules suggest`).

// Terms returns the words and two-word phrases ("op maat") of what the
// sender of a new request wrote, read as the classifier reads it: the
// subject without reply and forward prefixes and the body without quoted
// text, signature and disclaimer (for a forward, the forwarded message and
// the note above it), lower-cased with diacritics folded, e-mail addresses
// and links left out. A phrase never spans a punctuation mark or a
// paragraph break. Each term is listed once, in order of first occurrence.
func Terms(subject, text string) []string {
	rq := requestOf(subject, clipText(text, maxClassifyText))
	d := tokenizeDoc(rq.subject, rq.body, rq.rest)
	seen := make(map[string]bool)
	var out []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for i, t := range d.toks {
		add(d.word(i))
		if i+1 < len(d.toks) && d.toks[i+1].clause == t.clause && d.toks[i+1].zone == t.zone {
			add(d.word(i) + " " + d.word(i+1))
		}
	}
	return out
}

// TermDoc is one ticket for SuggestTerms: its request type now, whether a
// person corrected the type to it, and the Terms of its request.
type TermDoc struct {
	Type      Type
	Corrected bool
	Terms     []string
}

// Suggestion is a term that sets corrected tickets of Type apart.
type Suggestion struct {
	Type   Type    `json:"type"`
	Phrase string  `json:"phrase"`
	Weight float64 `json:"weight"` // proposed weight
	// In of InN corrected tickets of Type contain the phrase; Out of OutN
	// tickets of other types do.
	In      int     `json:"in"`
	InN     int     `json:"in_n"`
	Out     int     `json:"out"`
	OutN    int     `json:"out_n"`
	LogOdds float64 `json:"log_odds"`
}

const (
	// suggestMinLogOdds is how much more often (as a log-odds ratio) a
	// term must occur in the corrected tickets than in the others.
	suggestMinLogOdds = 1.0
	// suggestMaxPerType caps the list per type.
	suggestMaxPerType = 15
)

// SuggestTerms lists, per corrected type, the terms that occur in at least
// minCount of its corrected tickets and notably more often there than in
// tickets of other types: the log-odds ratio with add-one smoothing,
//
//	ln((in+1)/(inN−in+1)) − ln((out+1)/(outN−out+1)),
//
// of at least 1, where a document counts a term once. Terms the classifier
// already has for that type (built in or from the configuration, also
// through a '*' pattern), stop words, numbers and one- and two-letter
// words are left out, and so is a phrase that says no more than one of its
// words. The proposed weight (1 to 2.5) grows with the log-odds: a
// suggestion is supporting evidence, never a word that names an offering.
// The result is sorted by type (in the order of Types), then by log-odds,
// count and phrase.
func (c *Classifier) SuggestTerms(docs []TermDoc, minCount int) []Suggestion {
	minCount = max(minCount, 1)
	var out []Suggestion
	for _, t := range Types {
		var in, others []map[string]bool
		for _, d := range docs {
			switch {
			case d.Type == t && d.Corrected:
				in = append(in, termSet(d.Terms))
			case d.Type != t:
				others = append(others, termSet(d.Terms))
			}
		}
		if len(in) == 0 {
			continue
		}
		count := func(set []map[string]bool, term string) int {
			n := 0
			for _, s := range set {
				if s[term] {
					n++
				}
			}
			return n
		}
		cands := make(map[string]Suggestion)
		for _, s := range in {
			for term := range s {
				if _, done := cands[term]; done || !suggestable(term) || c.knownTerm(t, term) {
					continue
				}
				a, b := count(in, term), count(others, term)
				lo := logOdds(a, len(in), b, len(others))
				if a < minCount || lo < suggestMinLogOdds {
					cands[term] = Suggestion{} // considered, not kept
					continue
				}
				cands[term] = Suggestion{Type: t, Phrase: term, In: a, InN: len(in), Out: b, OutN: len(others),
					LogOdds: round2(lo), Weight: suggestWeight(lo)}
			}
		}
		var list []Suggestion
		for term, s := range cands {
			if s.Phrase == "" {
				continue
			}
			// A phrase whose word is as telling on its own adds nothing.
			if a, b, ok := strings.Cut(term, " "); ok {
				if w, ok := cands[a]; ok && w.Phrase != "" && w.LogOdds >= s.LogOdds {
					continue
				}
				if w, ok := cands[b]; ok && w.Phrase != "" && w.LogOdds >= s.LogOdds {
					continue
				}
			}
			list = append(list, s)
		}
		sort.Slice(list, func(i, j int) bool {
			a, b := list[i], list[j]
			if a.LogOdds != b.LogOdds {
				return a.LogOdds > b.LogOdds
			}
			if a.In != b.In {
				return a.In > b.In
			}
			return a.Phrase < b.Phrase
		})
		out = append(out, list[:min(len(list), suggestMaxPerType)]...)
	}
	return out
}

func termSet(terms []string) map[string]bool {
	s := make(map[string]bool, len(terms))
	for _, t := range terms {
		s[t] = true
	}
	return s
}

// logOdds is the log-odds ratio of a of n against b of m, add-one smoothed.
func logOdds(a, n, b, m int) float64 {
	return math.Log(float64(a+1)/float64(n-a+1)) - math.Log(float64(b+1)/float64(m-b+1))
}

// suggestWeight maps a log-odds ratio to a weight from 1 to 2.5 in steps
// of 0.5.
func suggestWeight(lo float64) float64 {
	return min(2.5, max(1, math.Round((lo-0.5)*2)/2))
}

// knownTerm reports whether the classifier already scores term (a word or
// "word word") for t: a pattern of t matches it, or for a phrase, a
// one-word pattern of t matches one of its words.
func (c *Classifier) knownTerm(t Type, term string) bool {
	words := strings.Fields(term)
	for _, ct := range c.terms[t] {
		p := ct.pat.words
		if len(p) == len(words) {
			match := true
			for i := range p {
				if !p[i].match(words[i]) {
					match = false
					break
				}
			}
			if match {
				return true
			}
		}
		if len(p) == 1 && len(words) > 1 && slices.ContainsFunc(words, p[0].match) {
			return true
		}
	}
	return false
}

// suggestable reports whether term is worth suggesting: no number, no
// word of one or two letters alone, not only stop words.
func suggestable(term string) bool {
	words := strings.Fields(term)
	content := 0
	for _, w := range words {
		if strings.IndexFunc(w, func(r rune) bool { return r < '0' || r > '9' }) < 0 {
			return false // a number: dates, times, house numbers
		}
		if !stopWords[w] && len(w) > 2 {
			content++
		}
	}
	// A phrase may lean on a stop word ("op maat"), not consist of them;
	// "de studiemiddag" goes when "studiemiddag" says as much.
	return content >= 1
}

// stopWords are Dutch and English function words and the words every
// request to the desk contains (greetings, the programme's own name).
var stopWords = func() map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(`
		aan al alle alleen als altijd ander andere bij ben bent dan dat de deze die dit doen door dus
		een eens en er ere geen had heb hebben heeft hem het hier hij hoe hun iemand iets ik in is
		ja je jij jou jouw jullie kan kon kunnen kunt maar me meer men met mij mijn moet moeten na naar
		niet niets nog nu of om omdat ons onze ook op over reeds te tegen toch toen tot u uit uw van
		veel voor want waren was wat we wel werd wie wij wil wilt willen word wordt worden zal ze zelf
		zich zij zijn zo zonder zou zouden graag heel erg even daar daarom daarvan daarbij hierbij
		hierover waar waarin waarvoor wanneer welke zoals zou binnen tussen via per eerder later nieuwe
		goed mogelijk misschien vraag vragen vriendelijke groet groeten beste geachte hallo dag
		mail email bericht dank bedankt alvast namens collega collegas team verzoek aanvraag
		samenwerkingsverband samenwerkingsverbanden swv passend onderwijs po vo primair voortgezet
		the a an and or of to in on for with at by from is are was be we our you your this that it as
		would like please thank thanks dear regards kind best could can will have has
	`) {
		m[w] = true
	}
	return m
}()
