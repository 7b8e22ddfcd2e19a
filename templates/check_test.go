package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		name, override string
		wantErr        string
	}{
		{"embedded only", "", ""},
		{"good override", "Onderwerp: [{{.Ref}}] Eigen tekst\n{{groet .RequesterName}}\n\n{{range .Slots}}{{.N}} {{dag .Start}}\n{{end}}", ""},
		{"empty subject", "Onderwerp: {{.Note | printf \"%.0s\"}}\nTekst", "empty subject"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := ""
			if c.override != "" {
				dir = t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "voorstel.tmpl"), []byte(c.override), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			set, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			errs := set.Check()
			switch {
			case c.wantErr == "" && len(errs) > 0:
				t.Errorf("errors: %v", errs)
			case c.wantErr != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), c.wantErr)):
				t.Errorf("errors %v, want one with %q", errs, c.wantErr)
			}
		})
	}
	// A template naming a variable Data lacks fails at load already.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.tmpl"), []byte("Onderwerp: {{.Bestaatniet}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "Bestaatniet") {
		t.Errorf("unknown variable: %v", err)
	}
}

// Every template's variables are documented in README.md.
func TestREADMEDocumentsVariables(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range set.Names() {
		if !strings.HasPrefix(name, "confirm-") && !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("template %s is not in README.md", name)
		}
	}
	for _, v := range []string{"Ref", "Slots", "SessionTitle", "Link", "Days", "LeaderAddress"} {
		if !strings.Contains(string(readme), "`."+v) {
			t.Errorf("variable .%s is not in README.md", v)
		}
	}
}
