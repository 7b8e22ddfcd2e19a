package templates

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var sample = Data{
	Ref:            "PO-2026-0042",
	RequesterName:  "Marloes Duinkerk",
	Org:            "Samenwerkingsverband Passend Primair Onderwijs Noordkop",
	Subject:        "aanmelding",
	Received:       time.Date(2026, 1, 13, 9, 12, 5, 0, time.FixedZone("CET", 3600)),
	MailboxAddress: "praktijktoets@ondersteuningpassendonderwijs.nl",
	MailboxName:    "Praktijktoets Passend onderwijs",
}

// TestConfirmationsGolden renders every embedded confirmation and compares it
// with testdata/<name>.golden, so that a change in wording shows up as a diff.
func TestConfirmationsGolden(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	types := []string{"praktijktoets", "clinic", "maatwerkbijeenkomst", "werkbijeenkomst",
		"opp-bijeenkomst", "training", "tweedaagse", "goed-voorbeeld",
		"ondersteuningsplanraad", "instrumentarium", "overig"}
	for _, typ := range types {
		name := "confirm-" + typ
		t.Run(name, func(t *testing.T) {
			d := sample
			d.Type, d.TypeLabel = typ, TypeLabels[typ]
			r, err := set.Render(name, d)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(r.Subject, "[PO-2026-0042] ") {
				t.Errorf("subject %q lacks the reference", r.Subject)
			}
			if !strings.Contains(r.Body, "PO-2026-0042") || !strings.Contains(r.Body, "13 januari 2026") {
				t.Errorf("body lacks reference or date:\n%s", r.Body)
			}
			got := "Onderwerp: " + r.Subject + "\n\n" + r.Body
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("rendered %s differs from %s:\n%s", name, golden, got)
			}
		})
	}
}

func TestGreeting(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Marloes Duinkerk", "Beste Marloes Duinkerk,"},
		{"", "Geachte heer/mevrouw,"},
		{"m.duinkerk@example.org", "Geachte heer/mevrouw,"},
	} {
		if got := greeting(c.in); got != c.want {
			t.Errorf("greeting(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSubjectNeverSpansLines(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "x.tmpl"), []byte("Onderwerp: Re: {{.Subject}}\n\nTekst\n"), 0o644))
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := set.Render("x", Data{Subject: "hallo\r\nBcc: victim@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(r.Subject, "\r\n") {
		t.Fatalf("subject contains a line break: %q", r.Subject)
	}
}

func TestOverrideAndErrors(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "confirm-clinic.tmpl"), []byte("Onderwerp: [{{.Ref}}] Eigen tekst\n\nEigen body {{.Ref}}\n"), 0o644))
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := set.Render("confirm-clinic", sample)
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "[PO-2026-0042] Eigen tekst" || r.Body != "Eigen body PO-2026-0042\n" {
		t.Errorf("override not used: %+v", r)
	}
	if !set.Has("confirm-overig") {
		t.Error("embedded templates lost when overriding one")
	}
	if _, err := set.Render("nope", sample); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown template: err = %v", err)
	}

	for name, text := range map[string]string{
		"no-subject.tmpl":    "Beste,\n",
		"bad-syntax.tmpl":    "Onderwerp: {{.Ref\n\n",
		"unknown-field.tmpl": "Onderwerp: {{.Nope}}\n\n",
	} {
		bad := t.TempDir()
		must(t, os.WriteFile(filepath.Join(bad, name), []byte(text), 0o644))
		if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Load with %s: err = %v, want an error naming the file", name, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("Load of a missing folder succeeded")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
