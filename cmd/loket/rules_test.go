package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/templates"
	"github.com/poraad/loket/web"
	"github.com/poraad/loket/workflow"
)

const deskTestToken = "desk-test-token-0123456789abcdef"

// testDesk is a running API over a temporary store, with a config file
// that points [web] listen at it and names its token.
type testDesk struct {
	srv     *httptest.Server
	store   *workflow.Store
	cfgPath string
	dir     string
	pol     *workflow.Policy
	uid     uint32
}

func newTestDesk(t *testing.T) *testDesk {
	t.Helper()
	dir := t.TempDir()
	st, err := workflow.Open(filepath.Join(dir, "loket.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tmpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	d := &testDesk{store: st, dir: dir, pol: &workflow.Policy{Prefix: "PO", Templates: tmpl,
		Mailboxes: map[string]workflow.MailboxInfo{"ondersteuning": {Name: "ondersteuning", Address: "ondersteuningpassendonderwijs@poraad.nl"}},
		Now:       func() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) }}}
	api := &web.API{Store: st, Token: deskTestToken, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	d.srv = httptest.NewServer(api.Handler())
	t.Cleanup(d.srv.Close)
	d.cfgPath = writeTestConfig(t, dir, strings.TrimPrefix(d.srv.URL, "http://"))
	return d
}

// writeTestConfig writes the example config with its secrets in dir, the
// store in dir and [web] listen set to listen.
func writeTestConfig(t *testing.T, dir, listen string) string {
	t.Helper()
	example, err := os.ReadFile(filepath.Join("..", "..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(example)
	for _, f := range regexp.MustCompile(`"(/etc/loket/[^"]+)"`).FindAllStringSubmatch(text, -1) {
		local := filepath.Join(dir, filepath.Base(f[1]))
		if err := os.WriteFile(local, []byte(deskTestToken+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		text = strings.ReplaceAll(text, f[1], local)
	}
	text = regexp.MustCompile(`(?m)^listen = .*$`).ReplaceAllString(text, fmt.Sprintf("listen = %q", listen))
	text = regexp.MustCompile(`(?m)^path = .*$`).ReplaceAllString(text, fmt.Sprintf("path = %q", filepath.Join(dir, "unused.db")))
	p := filepath.Join(dir, "loket.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// ingest stores raw as a new request classified by the default
// classifier (or as typ when typ is set) and returns its ticket.
func (d *testDesk) ingest(t *testing.T, raw string, typ intake.Type) string {
	t.Helper()
	m := intake.Parse([]byte(strings.ReplaceAll(raw, "\n", "\r\n")))
	c, err := intake.NewClassifier(intake.ClassifierConfig{Prefix: "PO"})
	if err != nil {
		t.Fatal(err)
	}
	cl := c.Classify(m, "", nil)
	if typ != "" {
		cl.Kind, cl.Type = intake.KindNew, typ
	}
	d.uid++
	res, err := d.store.Ingest(workflow.Inbound{Mailbox: "ondersteuning", UID: d.uid, UIDValidity: 1, Raw: []byte(raw), Msg: m, Class: cl}, d.pol)
	if err != nil {
		t.Fatal(err)
	}
	if res.TicketRef == "" {
		t.Fatalf("no ticket for %q", m.Subject)
	}
	return res.TicketRef
}

func testMail(n int, subject, body string) string {
	return fmt.Sprintf("From: Aanvrager %d <a%d@swv%d.example>\nTo: ondersteuningpassendonderwijs@poraad.nl\n"+
		"Subject: %s\nMessage-ID: <req-%d@swv.example>\nDate: Mon, 2 Mar 2026 09:0%d:00 +0100\n"+
		"Content-Type: text/plain; charset=utf-8\n\nBeste projectleiders,\n\n%s\n\nMet vriendelijke groet,\nAanvrager %d\n",
		n, n, n, subject, n, n%10, body, n)
}

// TestRulesSuggest retypes tickets through the API and checks that `rules
// suggest` names the word the corrected tickets share, as TOML that the
// config accepts.
func TestRulesSuggest(t *testing.T) {
	d := newTestDesk(t)
	ctx := context.Background()

	if out, _, err := runCmd(t, ctx, "rules", "suggest", "--config", d.cfgPath); err != nil || !strings.Contains(out, "no type corrections yet") {
		t.Fatalf("without corrections: %q %v", out, err)
	}

	var corrected []string
	for i, body := range []string{
		"Wij organiseren in april een teamdag voor onze intern begeleiders. Kunnen jullie daar een dagdeel verzorgen?",
		"Voor de teamdag van ons bestuur zoeken wij iemand die het ondersteuningsplan komt toelichten.",
		"Op onze teamdag in mei willen we graag aandacht voor de ondersteuningsplancyclus. Hebben jullie ruimte?",
	} {
		corrected = append(corrected, d.ingest(t, testMail(i+1, "Verzoek", body), intake.TypeOverig))
	}
	d.ingest(t, testMail(4, "Aanmelding praktijktoets", "Wij melden ons aan voor de praktijktoets met ons ondersteuningsplan."), "")
	d.ingest(t, testMail(5, "Tweedaagse", "Ik meld mij aan voor de tweedaagse voor directeuren in het (v)so."), "")
	d.ingest(t, testMail(6, "Vraag over de handreiking", "Waar vind ik de handreiking over bezwaar tegen een TLV? Dank voor de hulp in april."), "")

	api, err := newAPIClient(d.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range corrected {
		if err := api.do(ctx, "POST", "/api/v1/tickets/"+ref+"/type", map[string]string{"type": "clinic", "by": "j.jansen@poraad.nl"}, nil); err != nil {
			t.Fatalf("retype %s: %v", ref, err)
		}
	}
	// The typed error carries the status and the server's message.
	err = api.do(ctx, "POST", "/api/v1/tickets/"+corrected[0]+"/type", map[string]string{"type": "nope"}, nil)
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, "nope") {
		t.Errorf("bad retype: %v", err)
	}

	out, errOut, err := runCmd(t, ctx, "rules", "suggest", "--config", d.cfgPath, "--min", "2")
	if err != nil {
		t.Fatalf("rules suggest: %v\n%s", err, errOut)
	}
	t.Logf("rules suggest:\n%s", out)
	if !strings.Contains(out, `{ phrase = "teamdag", weight = `) || !strings.Contains(out, "in 3 of 3 corrected") {
		t.Errorf("output lacks teamdag with its counts:\n%s", out)
	}
	if !strings.Contains(out, "# clinic: 3 corrected (from overig 3)") {
		t.Errorf("output lacks the clinic header:\n%s", out)
	}
	for _, not := range []string{`"april"`, `"ondersteuningsplan"`, `"graag"`} {
		if strings.Contains(out, not) {
			t.Errorf("suggested %s (also in other tickets, or a stop word):\n%s", not, out)
		}
	}
	var decoded struct {
		Classification struct {
			Terms map[string][]intake.Term `toml:"terms"`
		} `toml:"classification"`
	}
	if _, err := toml.Decode(out, &decoded); err != nil {
		t.Fatalf("output is not TOML: %v\n%s", err, out)
	}
	if terms := decoded.Classification.Terms["clinic"]; len(terms) == 0 || terms[0].Phrase != "teamdag" || terms[0].Weight < 1 {
		t.Errorf("decoded clinic terms = %+v", terms)
	}

	// --explain shows the correction of the ticket that holds the mail.
	file := filepath.Join(d.dir, "req-1.eml")
	if err := os.WriteFile(file, []byte(testMail(1, "Verzoek", "Een teamdag in april.")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCmd(t, ctx, "classify", "--explain", "--config", d.cfgPath, file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "gecorrigeerd door j.jansen@poraad.nl op ") || !strings.Contains(out, "overig → clinic") {
		t.Errorf("explain lacks the correction:\n%s", out)
	}

	// With the service gone, explain says so once and still explains.
	d.srv.Close()
	out, _, err = runCmd(t, ctx, "classify", "--explain", "--config", d.cfgPath, file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, "corrections not shown") != 1 || !strings.Contains(out, "does not answer") || !strings.Contains(out, "decision:") {
		t.Errorf("explain without the API:\n%s", out)
	}
	if _, _, err := runCmd(t, ctx, "rules", "suggest", "--config", d.cfgPath); err == nil {
		t.Error("rules suggest without the API: no error")
	}
}

func TestAPIBase(t *testing.T) {
	for _, c := range []struct{ listen, base, want string }{
		{"127.0.0.1:8080", "", "http://127.0.0.1:8080"},
		{":8080", "https://loket.example.org", "http://127.0.0.1:8080"},
		{"0.0.0.0:80", "", "http://127.0.0.1:80"},
		{"[::]:8080", "", "http://[::1]:8080"},
		{"nonsense", "https://loket.example.org/", "https://loket.example.org"},
	} {
		got, err := apiBase(c.listen, c.base)
		if err != nil || got != c.want {
			t.Errorf("apiBase(%q, %q) = %q, %v; want %q", c.listen, c.base, got, err, c.want)
		}
	}
	if _, err := apiBase("nonsense", ""); err == nil {
		t.Error("apiBase without a usable address: no error")
	}
}
