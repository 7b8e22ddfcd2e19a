package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/internal/mailtest"
	"github.com/poraad/loket/workflow"
)

// chromiumPath finds Debian's chromium. Without it the browser tests skip
// locally and fail in CI, where .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (apt-get install -y --no-install-recommends chromium)")
	return ""
}

// browser starts a headless chromium and records what happens in it that a
// test must know about: JavaScript dialogs and every URL requested.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	dialogs  []string
	requests []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	b := &browser{ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		// Runs in the tab's loop: record, and run no command here.
		switch ev := ev.(type) {
		case *cdppage.EventJavascriptDialogOpening:
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Message)
			b.mu.Unlock()
			go func() {
				_, _ = chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: false})
			}()
		case *network.EventRequestWillBeSent:
			b.mu.Lock()
			b.requests = append(b.requests, ev.Request.URL)
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enable network events: %v", err)
	}
	return b
}

func (b *browser) run(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action that returns a value.
func get[T any](t *testing.T, b *browser, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	png := get(t, b, "screenshot "+name, chromedp.FullScreenshot(100))
	path := filepath.Join(t.TempDir(), name+".png")
	if err := os.WriteFile(path, png, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the %s: %s", name, path)
	if dir := os.Getenv("LOKET_SCREENSHOTS"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o600)
	}
}

// submit clicks a button or link and waits for the page it leads to.
func (b *browser) submit(t *testing.T, sel string) {
	t.Helper()
	get(t, b, "click "+sel, chromedp.WaitEvent(cdppage.LoadEventFired,
		func(cdppage.EventLoadEventFired) bool { return true }, chromedp.Click(chromedp.CSS(sel))))
}

// flash waits for the confirmation after a form and checks its text.
func (b *browser) flash(t *testing.T, want string) {
	t.Helper()
	b.run(t, "wait for "+want, chromedp.WaitVisible(chromedp.CSS("main > p.flash, main > p.error")))
	got := get(t, b, "read "+want, chromedp.Text(chromedp.CSS("main > p.flash, main > p.error")))
	if !strings.Contains(got, want) {
		t.Fatalf("after the form: %q, want %q", got, want)
	}
}

// TestBrowserDesk walks the desk in a real browser: log in, search, open a
// ticket, re-classify it, assign, reply, propose dates and schedule — the
// mails reach an SMTP server — and checks that hostile mail stays inert.
func TestBrowserDesk(t *testing.T) {
	b := newBrowser(t)
	e := newDeskEnv(t, true)
	// Real time from here: the sender delivers what is due now.
	e.now = time.Now()
	smtp, err := mailtest.StartSMTP()
	if err != nil {
		t.Fatal(err)
	}
	defer smtp.Close()
	sender := workflow.NewSender(e.store, workflow.SMTPConfig{Host: smtp.Host(), Port: smtp.Port(), TLS: "none",
		Timeout: 10 * time.Second, RetryBase: 100 * time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	sctx, stopSender := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = sender.Run(sctx) }()
	defer func() { stopSender(); wg.Wait() }()
	e.desk.o.Actions.Kick = sender.Kick

	base := e.srv.URL
	ref := e.refs["toets"]
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// Log in: the desk sends the browser to the login page first.
	b.run(t, "open the desk", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("#adres")))
	if loc := get(t, b, "location", chromedp.Location()); !strings.Contains(loc, "/login") {
		t.Errorf("first page %s, want the login page", loc)
	}
	b.run(t, "log in", chromedp.SendKeys(css("#adres"), deskUser), chromedp.SendKeys(css("#wachtwoord"), deskPassword))
	b.submit(t, `form[action="/login"] button[type="submit"]`)
	b.run(t, "queue", chromedp.WaitVisible(css("table.queue")))

	// Find the ticket by a word of its mail.
	b.run(t, "search", chromedp.SetValue(css("#q"), "spiegelteam"))
	b.submit(t, `form.filters button[type="submit"]`)
	rows := get(t, b, "result rows", chromedp.Text(css("table.queue tbody")))
	if strings.Contains(rows, e.refs["clinic"]) || !strings.Contains(rows, ref) {
		t.Errorf("search for spiegelteam lists %q", rows)
	}
	b.run(t, "all open tickets", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("table.queue")))
	b.screenshot(t, "queue")

	// Open it and re-classify it.
	b.run(t, "search again", chromedp.Navigate(base+"/?q="+url.QueryEscape("spiegelteam")))
	b.submit(t, `a[href="/tickets/`+ref+`"]`)
	b.run(t, "re-classify",
		chromedp.SetValue(css("#retype-type"), string(intake.TypeClinic)),
		chromedp.SendKeys(css("#retype-notitie"), "eigenlijk een clinic"),
	)
	b.submit(t, `form[action="/tickets/`+ref+`/type"] button[type="submit"]`)
	b.flash(t, "Het type is aangepast.")
	if tk, _ := e.store.Ticket(ref); tk.Type != intake.TypeClinic {
		t.Fatalf("type after re-classify: %s", tk.Type)
	}

	// Assign, reply (after a preview), propose dates, schedule.
	day := time.Now().In(amsterdam).AddDate(0, 0, 14).Format("2006-01-02")
	day2 := time.Now().In(amsterdam).AddDate(0, 0, 21).Format("2006-01-02")
	b.submit(t, `form[action$="/actions/assign"] button[type="submit"]`)
	b.flash(t, "toegewezen")
	b.run(t, "write reply", chromedp.SendKeys(css("#reply-tekst"), "Dank voor uw aanmelding. Wij stellen zo data voor."))
	b.submit(t, `form[action$="/actions/reply"] button[name="voorbeeld"]`)
	if p := get(t, b, "preview", chromedp.Text(css(".preview"))); !strings.Contains(p, "Dank voor uw aanmelding") {
		t.Errorf("preview %q", p)
	}
	b.submit(t, `form[action$="/actions/reply"] button:not([name])`)
	b.flash(t, "antwoord staat klaar")
	b.run(t, "propose",
		chromedp.SetValue(css("#propose-datum1"), day),
		chromedp.SetValue(css("#propose-datum2"), day2),
		chromedp.SendKeys(css("#propose-locatie"), "Utrecht"),
	)
	b.submit(t, `form[action$="/actions/propose"] button[type="submit"]`)
	b.flash(t, "voorstel met data")
	b.run(t, "schedule",
		chromedp.SetValue(css("#schedule-datum"), day),
		chromedp.SendKeys(css("#schedule-locatie"), "Utrecht"),
	)
	b.submit(t, `form[action$="/actions/schedule"] button[type="submit"]`)
	b.flash(t, "afspraak is vastgelegd")
	b.screenshot(t, "ticket")

	tk, err := e.store.Ticket(ref)
	if err != nil {
		t.Fatal(err)
	}
	if tk.State != workflow.StateScheduled || tk.Assignee != deskUser || tk.Appointment == nil {
		t.Fatalf("ticket after the actions: state %s, assignee %q", tk.State, tk.Assignee)
	}

	// The mails reach the SMTP server: the answer, the proposal and the
	// invitation, to the requester.
	wctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	want := []struct{ name, text string }{{"reply", "Dank voor uw aanmelding"}, {"proposal", "Utrecht"}, {"invite", "text/calendar"}}
	found := map[string]bool{}
	for n := 1; len(found) < len(want); n++ {
		msgs, err := smtp.Wait(wctx, n)
		if err != nil {
			t.Fatalf("mail at the SMTP server: found %v of %v: %v", found, want, err)
		}
		m := msgs[n-1]
		if !strings.Contains(strings.Join(m.To, ","), "k.hoogland@swv-rivierenland.example") || !strings.Contains(string(m.Data), ref) {
			continue
		}
		body := decodedBody(m.Data)
		for _, w := range want {
			if !found[w.name] && strings.Contains(body, w.text) {
				found[w.name] = true
				break
			}
		}
	}

	// Hostile mail renders inert: no dialog, no script, no handler, no
	// remote request.
	xss := e.refs["xss"]
	b.run(t, "hostile ticket", chromedp.Navigate(base+"/tickets/"+xss), chromedp.WaitVisible(css(".mailhtml")), chromedp.Sleep(300*time.Millisecond))
	scripts := get(t, b, "scripts", chromedp.Evaluate[int](`document.querySelectorAll('script').length`))
	handlers := get(t, b, "handlers", chromedp.Evaluate[int](`document.querySelectorAll('[onerror],[onclick],[onload],[onmouseover]').length`))
	remote := get(t, b, "remote", chromedp.Evaluate[int](`[...document.querySelectorAll('img,iframe,link,embed,object')].filter(e => (e.src || e.href || '').match(/^https?:/) && !(e.src || e.href).startsWith(location.origin)).length`))
	jsLinks := get(t, b, "javascript links", chromedp.Evaluate[int](`[...document.querySelectorAll('a')].filter(a => a.href.startsWith('javascript:')).length`))
	subject := get(t, b, "subject", chromedp.Text(css("h1")))
	b.run(t, "hostile queue", chromedp.Navigate(base+"/?q=script"), chromedp.WaitVisible(css("table.queue")), chromedp.Sleep(300*time.Millisecond))
	b.run(t, "overview", chromedp.Navigate(base+"/overview"), chromedp.WaitVisible(css("svg")))
	b.screenshot(t, "overview")
	if scripts != 0 || handlers != 0 || remote != 0 || jsLinks != 0 {
		t.Errorf("hostile mail: %d scripts, %d event handlers, %d remote elements, %d javascript: links", scripts, handlers, remote, jsLinks)
	}
	if !strings.Contains(subject, "<script>alert(1)</script>") {
		t.Errorf("subject shown as %q, want the text itself", subject)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.dialogs) > 0 {
		t.Errorf("JavaScript dialogs opened: %q", b.dialogs)
	}
	if len(b.requests) == 0 {
		t.Error("no requests recorded: is the network listener working?")
	}
	for _, u := range b.requests {
		if !strings.HasPrefix(u, base) && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page requested %s", u)
		}
	}
}

// decodedBody returns a captured message's text parts, decoded.
func decodedBody(raw []byte) string {
	m := intake.Parse(raw)
	var parts []string
	parts = append(parts, m.Text, m.HTML)
	for _, a := range m.Attachments {
		parts = append(parts, a.ContentType)
	}
	parts = append(parts, fmt.Sprint(m.Header["Content-Type"]))
	if strings.Contains(string(raw), "text/calendar") {
		parts = append(parts, "text/calendar")
	}
	return strings.Join(parts, "\n")
}
