package templates

import (
	"fmt"
	"strings"
	"time"
)

// ExampleData is the data `loket templates check` renders every template
// with: every variable of Data set, as in a real mail.
func ExampleData() Data {
	at := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, Amsterdam) }
	return Data{
		Ref: "PO-2026-0042", Type: "clinic", TypeLabel: TypeLabels["clinic"],
		RequesterName: "Marloes Duinkerk", Org: "Samenwerkingsverband Passend Primair Onderwijs Noordkop",
		Subject: "Aanvraag clinic ondersteuningsplan", Received: at(2, 9, 12),
		MailboxAddress: "ondersteuningpassendonderwijs@poraad.nl", MailboxName: "Ondersteuning Passend onderwijs",
		Body:   "Dank voor uw vraag. Wij komen graag langs.",
		Leader: "Anna de Vries", LeaderAddress: "a.devries@poraad.nl",
		Slots:    []Slot{{N: 1, Start: at(10, 9, 30), End: at(10, 12, 0)}, {N: 2, Start: at(12, 13, 0), End: at(12, 16, 0)}},
		Location: "Stadskantoor, Den Helder", Start: at(12, 13, 0), End: at(12, 16, 0),
		SessionTitle: "Werkbijeenkomst samenwerking met gemeenten en jeugdhulppartners (Utrecht)",
		Link:         "https://loket.example.org/tickets/PO-2026-0042",
		Note:         "De spreker is ziek.", Days: 2,
	}
}

// Check renders every template with ExampleData and returns one error per
// template that fails: an unknown variable, a subject left empty, or a
// "<no value>" in the text.
func (s *Set) Check() []error {
	var errs []error
	d := ExampleData()
	for _, name := range s.names {
		r, err := execute(s.tmpl[name], d)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("template %s: %w", name, err))
		case r.Subject == "":
			errs = append(errs, fmt.Errorf("template %s: empty subject", name))
		case strings.Contains(r.Subject+r.Body, "<no value>"):
			errs = append(errs, fmt.Errorf("template %s: a variable has no value", name))
		}
	}
	return errs
}

// Render of a set's template by name with ExampleData, for previews.
func (s *Set) Example(name string) (Rendered, error) { return s.Render(name, ExampleData()) }
