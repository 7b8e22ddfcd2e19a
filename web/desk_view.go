package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/templates"
	"github.com/poraad/loket/workflow"
)

// amsterdam is the desk's time zone.
var amsterdam = templates.Amsterdam

// deskFuncs is the one FuncMap of the desk's templates.
var deskFuncs = template.FuncMap{
	"datetime":   fmtDateTime,
	"date":       fmtDate,
	"isodate":    func(t time.Time) string { return t.In(amsterdam).Format(time.RFC3339) },
	"stateLabel": func(s workflow.State) string { return stateLabel(s) },
	"typeLabel":  func(t intake.Type) string { return typeLabel(t) },
	"eventLabel": func(e workflow.Event) string { return eventLabel(e) },
	"kindLabel":  kindLabel,
	"bytes":      fmtBytes,
	"list":       func(xs ...string) []string { return xs },
	"clock":      func(t time.Time) string { return t.In(amsterdam).Format("15:04") },
}

var months = []string{"jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"}

func fmtDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(amsterdam)
	return fmt.Sprintf("%d %s %d", t.Day(), months[t.Month()-1], t.Year())
}

func fmtDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmtDate(t) + " " + t.In(amsterdam).Format("15:04")
}

// fmtAge says how long ago t was, shortly: "12 min", "5 u", "3 d".
func fmtAge(t time.Time, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", max(0, int(d.Minutes())))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d u", int(d.Hours()))
	default:
		return fmt.Sprintf("%d d", int(d.Hours()/24))
	}
}

func fmtBytes(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.0f kB", float64(n)/1024)
	default:
		return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
	}
}

var stateLabels = map[workflow.State]string{
	workflow.StateNew:          "nieuw",
	workflow.StateAcknowledged: "bevestigd",
	workflow.StateRegistered:   "aangemeld",
	workflow.StateReferred:     "doorverwezen",
	workflow.StateAssigned:     "toegewezen",
	workflow.StateWaiting:      "wacht op aanvrager",
	workflow.StateAnswered:     "beantwoord",
	workflow.StateClosed:       "gesloten",
	workflow.StateCancelled:    "geannuleerd",
	workflow.StateProposed:     "data voorgesteld",
	workflow.StateScheduled:    "gepland",
	workflow.StateHeld:         "gehouden",
	workflow.StatePlaced:       "geplaatst",
	workflow.StateWaitlisted:   "op wachtlijst",
	workflow.StatePublished:    "gepubliceerd",
	workflow.StateDeclined:     "afgewezen",
}

// deskStates is the order states are shown in.
var deskStates = []workflow.State{
	workflow.StateNew, workflow.StateAcknowledged, workflow.StateRegistered, workflow.StateReferred,
	workflow.StateAssigned, workflow.StateProposed, workflow.StateScheduled, workflow.StatePlaced,
	workflow.StateWaitlisted, workflow.StateWaiting, workflow.StateAnswered, workflow.StateHeld,
	workflow.StatePublished, workflow.StateDeclined, workflow.StateClosed, workflow.StateCancelled,
}

func stateLabel(s workflow.State) string {
	if l, ok := stateLabels[s]; ok {
		return l
	}
	return string(s)
}

var typeLabels = map[intake.Type]string{
	intake.TypePraktijktoets:          "Praktijktoets",
	intake.TypeClinic:                 "Clinic",
	intake.TypeMaatwerkbijeenkomst:    "Maatwerkbijeenkomst",
	intake.TypeWerkbijeenkomst:        "Werkbijeenkomst",
	intake.TypeOPPBijeenkomst:         "OPP-bijeenkomst",
	intake.TypeTraining:               "Training",
	intake.TypeTweedaagse:             "Tweedaagse",
	intake.TypeGoedVoorbeeld:          "Goed voorbeeld",
	intake.TypeOndersteuningsplanraad: "Ondersteuningsplanraad",
	intake.TypeInstrumentarium:        "Instrumentarium",
	intake.TypeOverig:                 "Overig",
}

func typeLabel(t intake.Type) string {
	if l, ok := typeLabels[t]; ok {
		return l
	}
	return string(t)
}

var eventLabels = map[workflow.Event]string{
	workflow.EventClose:      "Sluiten",
	workflow.EventCancel:     "Annuleren",
	workflow.EventHold:       "Gehouden",
	workflow.EventFollowUp:   "Vervolg nodig",
	workflow.EventPublish:    "Gepubliceerd",
	workflow.EventDecline:    "Afwijzen",
	workflow.EventAnswer:     "Beantwoord",
	workflow.EventWait:       "Wacht op aanvrager",
	workflow.EventResume:     "Verder (niet meer wachten)",
	workflow.EventWaitlist:   "Op wachtlijst",
	workflow.EventPromote:    "Van wachtlijst plaatsen",
	workflow.EventSchedule:   "Plannen",
	workflow.EventPropose:    "Data voorstellen",
	workflow.EventAssign:     "Toewijzen",
	workflow.EventPlace:      "Plaatsen",
	workflow.EventReschedule: "Verzetten",
}

func eventLabel(e workflow.Event) string {
	if l, ok := eventLabels[e]; ok {
		return l
	}
	return string(e)
}

func kindLabel(k intake.Kind) string {
	switch k {
	case intake.KindNew:
		return "nieuwe aanvraag"
	case intake.KindFollowUp:
		return "vervolgbericht"
	case intake.KindAutoReply:
		return "automatisch antwoord"
	case intake.KindBounce:
		return "onbestelbaar"
	}
	return string(k)
}

// option is one choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

func typeOptions(selected intake.Type, withAll bool) []option {
	var out []option
	if withAll {
		out = append(out, option{Value: "", Label: "alle typen", Selected: selected == ""})
	}
	for _, t := range intake.Types {
		out = append(out, option{Value: string(t), Label: typeLabel(t), Selected: t == selected})
	}
	return out
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
