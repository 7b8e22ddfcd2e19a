// Package templates holds the Dutch mail templates Loket sends and renders them.
//
// Templates are embedded with embed.FS (mail/*.tmpl) and parsed once at start,
// so a broken template fails at start, not when the first requester writes.
// An operator may override any of them by placing a file with the same name in
// the folder named by [confirmations] templates_dir; overrides are parsed at
// start too.
//
// A mail template is plain text: a first line "Onderwerp: ..." (the subject,
// itself a template), an empty line, then the body. The workflow package
// renders a template into the outbox; nothing here sends mail.
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"time"
	_ "time/tzdata" // Europe/Amsterdam also where the host lacks zoneinfo
)

//go:embed mail/*.tmpl
var embedded embed.FS

// Data is what every mail template may use.
type Data struct {
	Ref            string    // ticket reference, e.g. PO-2026-0042
	Type           string    // request type slug
	TypeLabel      string    // Dutch label of the request type
	RequesterName  string    // display name of the requester; may be empty
	Org            string    // organisation, may be empty
	Subject        string    // subject of the request as the requester wrote it
	Received       time.Time // when the request arrived
	MailboxAddress string    // the address the request was sent to
	MailboxName    string    // display name of that mailbox
	Body           string    // free text (answers written by a project leader)
	Leader         string    // name of the project leader, when one answers
	LeaderAddress  string    // address of that project leader
	Slots          []Slot    // proposed dates, numbered from 1
	Location       string    // where the appointment or session is
	Start          time.Time // start of the appointment or session
	End            time.Time // end of the appointment or session
	SessionTitle   string    // title of the session a registration is placed in
	Link           string    // link to the ticket in the desk; may be empty
	Note           string    // a short remark of the desk, e.g. why a mail is sent
	Days           int       // a number of days (reminders)
}

// Slot is one proposed date in a template.
type Slot struct {
	N     int // number shown to the requester, from 1
	Start time.Time
	End   time.Time
}

// Rendered is a rendered mail: subject and plain-text body.
type Rendered struct {
	Subject string
	Body    string
}

// Set is a parsed set of templates.
type Set struct {
	tmpl  map[string]*template.Template
	names []string
}

// ErrUnknown is returned by Render for a template name the set lacks.
var ErrUnknown = errors.New("unknown template")

var funcs = template.FuncMap{
	"datum": formatDate,
	"dag":   formatDay,
	"tijd":  formatClock,
	"groet": greeting,
}

// Load parses the embedded templates and, when overrideDir is not empty,
// every *.tmpl file in it, which replaces the embedded one of the same name
// or adds a new one.
func Load(overrideDir string) (*Set, error) {
	s := &Set{tmpl: map[string]*template.Template{}}
	if err := s.addFS(embedded, "mail"); err != nil {
		return nil, err
	}
	if overrideDir != "" {
		if _, err := os.Stat(overrideDir); err != nil {
			return nil, fmt.Errorf("templates folder: %w", err)
		}
		if err := s.addFS(os.DirFS(overrideDir), "."); err != nil {
			return nil, fmt.Errorf("templates folder %s: %w", overrideDir, err)
		}
	}
	for name := range s.tmpl {
		s.names = append(s.names, name)
	}
	sort.Strings(s.names)
	return s, nil
}

func (s *Set) addFS(fsys fs.FS, dir string) error {
	paths, err := fs.Glob(fsys, filepath.ToSlash(filepath.Join(dir, "*.tmpl")))
	if err != nil {
		return fmt.Errorf("list templates: %w", err)
	}
	for _, p := range paths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read template %s: %w", p, err)
		}
		name := strings.TrimSuffix(filepath.Base(p), ".tmpl")
		text := strings.ReplaceAll(string(data), "\r\n", "\n")
		if !strings.HasPrefix(text, "Onderwerp:") {
			return fmt.Errorf("template %s: first line must start with \"Onderwerp:\"", p)
		}
		t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(text)
		if err != nil {
			return fmt.Errorf("parse template %s: %w", p, err)
		}
		// Render once with sample data so that a template referring to an
		// unknown field fails at start.
		if _, err := execute(t, Data{Ref: "PO-2026-0001", Received: time.Now()}); err != nil {
			return fmt.Errorf("template %s: %w", p, err)
		}
		s.tmpl[name] = t
	}
	return nil
}

// Names lists the template names, sorted.
func (s *Set) Names() []string { return append([]string(nil), s.names...) }

// Has reports whether the set has a template of that name.
func (s *Set) Has(name string) bool { _, ok := s.tmpl[name]; return ok }

// Render renders the named template.
func (s *Set) Render(name string, d Data) (Rendered, error) {
	t, ok := s.tmpl[name]
	if !ok {
		return Rendered{}, fmt.Errorf("render %q: %w", name, ErrUnknown)
	}
	r, err := execute(t, d)
	if err != nil {
		return Rendered{}, fmt.Errorf("render %q: %w", name, err)
	}
	return r, nil
}

func execute(t *template.Template, d Data) (Rendered, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return Rendered{}, err
	}
	text := buf.String()
	first, rest, _ := strings.Cut(text, "\n")
	subject := strings.TrimSpace(strings.TrimPrefix(first, "Onderwerp:"))
	// A subject never spans lines: a CR or LF from data must not become a header.
	subject = strings.Join(strings.Fields(subject), " ")
	body := strings.TrimLeft(rest, "\n")
	body = strings.TrimRight(body, " \n") + "\n"
	return Rendered{Subject: subject, Body: body}, nil
}

var months = [...]string{"januari", "februari", "maart", "april", "mei", "juni", "juli",
	"augustus", "september", "oktober", "november", "december"}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(Amsterdam)
	return fmt.Sprintf("%d %s %d", t.Day(), months[t.Month()-1], t.Year())
}

var weekdays = [...]string{"zondag", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"}

// formatDay writes a date with its weekday: "donderdag 12 maart 2026".
func formatDay(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return weekdays[t.In(Amsterdam).Weekday()] + " " + formatDate(t)
}

// formatClock writes the time of day in Amsterdam: "09:30".
func formatClock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(Amsterdam).Format("15:04")
}

// greeting returns the salutation for a requester: "Beste Marloes Duinkerk,"
// or "Geachte heer/mevrouw," when the name is unknown.
func greeting(name string) string {
	name = strings.TrimSpace(name)
	if name == "" || strings.Contains(name, "@") {
		return "Geachte heer/mevrouw,"
	}
	return "Beste " + name + ","
}

// Amsterdam is the desk's time zone, the one every date a person reads is
// shown in. The zone database is embedded (time/tzdata), so loading it
// cannot fail on a host without zoneinfo.
var Amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}()

// TypeLabels gives the Dutch label of each request type.
var TypeLabels = map[string]string{
	"praktijktoets":          "de praktijktoets",
	"clinic":                 "een clinic",
	"maatwerkbijeenkomst":    "een maatwerkbijeenkomst",
	"werkbijeenkomst":        "de werkbijeenkomst 'samenwerking met gemeenten en jeugdhulppartners'",
	"opp-bijeenkomst":        "een bijeenkomst over het ontwikkelingsperspectief (OPP)",
	"training":               "de training voor kwartiermakers en directeuren",
	"tweedaagse":             "de tweedaagse voor directeuren in het (v)so",
	"goed-voorbeeld":         "uw goede voorbeeld",
	"ondersteuningsplanraad": "begeleiding van de ondersteuningsplanraad",
	"instrumentarium":        "het instrumentarium Passend onderwijs",
	"overig":                 "uw vraag",
}
