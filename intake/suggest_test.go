package intake

import (
	"slices"
	"strings"
	"testing"
)

func TestTerms(t *testing.T) {
	got := Terms("RE: Teamdag in de regio",
		"Beste projectleiders,\n\nWij willen een teamdag op maat, bel 06-12345678 of mail jan@swv.example.\n\n"+
			"Met vriendelijke groet,\nJan\nSWV Financiën Noord\n\n"+
			"Op 3 feb. 2026 om 10:14 schreef Loket <o@poraad.nl>:\n> Uw aanvraag voor een clinic")
	for _, want := range []string{"teamdag", "teamdag in", "op maat", "06", "regio"} {
		if !slices.Contains(got, want) {
			t.Errorf("Terms lacks %q: %q", want, got)
		}
	}
	for _, not := range []string{"re", "clinic", "financien", "jan", "swv", "beste", "regio wij", "maat bel"} {
		if slices.Contains(got, not) {
			t.Errorf("Terms has %q (quoted, signature, salutation, address or across a clause): %q", not, got)
		}
	}
	if n := len(got); n != len(termSet(got)) {
		t.Errorf("Terms repeats terms: %q", got)
	}
}

func TestSuggestTerms(t *testing.T) {
	c := newTestClassifier(t)
	doc := func(typ Type, corrected bool, subject, text string) TermDoc {
		return TermDoc{Type: typ, Corrected: corrected, Terms: Terms(subject, text)}
	}
	docs := []TermDoc{
		// Three corrected to clinic: "teamdag" is what they share and
		// the classifier does not know; "studiemiddag" it knows already.
		doc(TypeClinic, true, "Teamdag", "Wij zoeken iemand voor onze teamdag in april, over het ondersteuningsplan."),
		doc(TypeClinic, true, "Vraag", "Kunnen jullie op onze teamdag iets vertellen? Ook een studiemiddag is goed."),
		doc(TypeClinic, true, "Verzoek teamdag", "Graag een inleiding tijdens de teamdag van het SWV."),
		// Uncorrected clinics do not count either way.
		doc(TypeClinic, false, "Clinic", "Graag een clinic over de teamdag."),
		// Other types; "ondersteuningsplan" is everywhere.
		doc(TypeMaatwerkbijeenkomst, true, "Governance", "Een bijeenkomst over governance en het ondersteuningsplan."),
		doc(TypePraktijktoets, false, "Aanmelding", "Wij melden ons aan voor de praktijktoets in april, ondersteuningsplan klaar."),
		doc(TypeTraining, false, "Kwartiermaker", "Ik ben kwartiermaker en wil het ondersteuningsplan leren schrijven."),
		doc(TypeOverig, false, "Interview", "Mag ik u interviewen over het ondersteuningsplan?"),
	}
	got := c.SuggestTerms(docs, 2)
	var clinic []string
	for _, s := range got {
		if s.Type == TypeClinic {
			clinic = append(clinic, s.Phrase)
		}
		if s.Type == TypeMaatwerkbijeenkomst {
			t.Errorf("one corrected maatwerkbijeenkomst is below --min 2: %+v", s)
		}
		if s.Weight < 1 || s.Weight > 2.5 || s.In < 2 || s.LogOdds < suggestMinLogOdds {
			t.Errorf("suggestion out of bounds: %+v", s)
		}
	}
	if len(clinic) == 0 || clinic[0] != "teamdag" {
		t.Fatalf("clinic suggestions = %q, want teamdag first", clinic)
	}
	first := got[slices.IndexFunc(got, func(s Suggestion) bool { return s.Phrase == "teamdag" })]
	if first.In != 3 || first.InN != 3 || first.Out != 0 || first.OutN != 4 {
		t.Errorf("teamdag counts = %+v, want 3 of 3 corrected, 0 of 4 others", first)
	}
	for _, p := range clinic {
		switch {
		case p == "studiemiddag", p == "ondersteuningsplan", p == "april", p == "onze teamdag", p == "de teamdag":
			t.Errorf("suggested %q: known, common, too rare or no more telling than teamdag", p)
		case strings.ContainsAny(p, "0123456789"):
			t.Errorf("suggested a number: %q", p)
		}
	}
	if got := c.SuggestTerms(docs, 4); slices.ContainsFunc(got, func(s Suggestion) bool { return s.Type == TypeClinic }) {
		t.Errorf("min 4 of 3 corrected tickets: %+v", got)
	}
}
