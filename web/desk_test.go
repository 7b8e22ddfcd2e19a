package web

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/templates"
	"github.com/poraad/loket/workflow"
)

const (
	deskUser     = "leider@poraad.example"
	deskPassword = "correct-horse-battery"
)

// xssHTML is a mail whose HTML tries everything that must not work.
const xssHTML = `<p>Beste desk,</p>
<script>alert("script")</script>
<img src="x" onerror="alert('onerror')">
<a href="javascript:alert('link')">klik hier</a>
<img src="http://tracker.example/pixel.png" alt="pixel">
<img src="https://tracker.example/logo.png">
<div onclick="alert('click')" style="background:url(http://tracker.example/bg.png)">tekst</div>
<iframe src="http://evil.example/"></iframe>
<form action="http://evil.example/"><input name="x"></form>
<svg><script>alert('svg')</script></svg>
<a href="https://www.poraad.nl/">PO-Raad</a>
<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">`

// rawWithAttachment is a multipart message with one PDF attachment.
const rawWithAttachment = "From: Marloes <m.duinkerk@swv-duinstreek.example>\r\n" +
	"To: ondersteuningpassendonderwijs@poraad.nl\r\n" +
	"Subject: Aanmelding clinic met bijlage\r\n" +
	"Message-ID: <bijlage-1@swv.example>\r\n" +
	"Date: Mon, 02 Mar 2026 09:00:00 +0100\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
	"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGraag een clinic over het ondersteuningsplan. Zie de bijlage.\r\n" +
	"--b1\r\nContent-Type: application/pdf; name=\"programma.pdf\"\r\nContent-Disposition: attachment; filename=\"programma.pdf\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7zDtsOfCg==\r\n--b1--\r\n"

type deskEnv struct {
	t     *testing.T
	store *workflow.Store
	srv   *httptest.Server
	desk  *Desk
	pol   *workflow.Policy
	now   time.Time
	refs  map[string]string // name -> ticket ref
	uid   uint32
}

func newDeskEnv(t *testing.T, withActions bool) *deskEnv {
	t.Helper()
	st, err := workflow.Open(filepath.Join(t.TempDir(), "loket.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tmpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	e := &deskEnv{t: t, store: st, now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), refs: map[string]string{}}
	e.pol = &workflow.Policy{Prefix: "PO", Templates: tmpl, Confirm: true, PerRecipientPerDay: 5,
		Mailboxes: map[string]workflow.MailboxInfo{
			"ondersteuning": {Name: "ondersteuning", Address: "ondersteuningpassendonderwijs@poraad.nl", DisplayName: "Ondersteuning Passend onderwijs"},
			"praktijktoets": {Name: "praktijktoets", Address: "praktijktoets@ondersteuningpassendonderwijs.nl", DisplayName: "Praktijktoets"},
		},
		OwnAddresses: []string{"ondersteuningpassendonderwijs@poraad.nl", "praktijktoets@ondersteuningpassendonderwijs.nl"},
		Now:          func() time.Time { return e.now }}

	e.ingest("clinic", "ondersteuning", &intake.Message{MessageID: "clinic@swv.example", Subject: "Clinic ondersteuningsplan",
		From: intake.Address{Name: "Marloes Duinkerk", Address: "m.duinkerk@swv-duinstreek.example"},
		Text: "Wij willen graag een clinic over de financiën van het ondersteuningsplan."},
		intake.Classification{Kind: intake.KindNew, Type: intake.TypeClinic, Org: "SWV Duinstreek",
			Reasons: []intake.Reason{{Rule: "type:clinic:body:clinic", Detail: "clinic", Weight: 2}}})
	e.ingest("toets", "praktijktoets", &intake.Message{MessageID: "toets@swv.example", Subject: "Aanmelding praktijktoets",
		From: intake.Address{Name: "Kees Hoogland", Address: "k.hoogland@swv-rivierenland.example"},
		Text: "Hierbij melden wij ons aan voor de praktijktoets met het spiegelteam."},
		intake.Classification{Kind: intake.KindNew, Type: intake.TypePraktijktoets, Org: "SWV Rivierenland"})
	e.ingest("xss", "ondersteuning", &intake.Message{MessageID: "xss@evil.example", Subject: "<script>alert(1)</script>",
		From: intake.Address{Name: "<img src=x onerror=alert(2)>", Address: "evil@evil.example"},
		Text: "platte tekst", HTML: xssHTML},
		intake.Classification{Kind: intake.KindNew, Type: intake.TypeOverig, Org: `"><script>alert(3)</script>`})
	parsed := intake.Parse([]byte(rawWithAttachment))
	e.ingestRaw("bijlage", "ondersteuning", []byte(rawWithAttachment), parsed,
		intake.Classification{Kind: intake.KindNew, Type: intake.TypeClinic})
	// An out-of-office that matches no ticket.
	e.ingest("", "ondersteuning", &intake.Message{MessageID: "ooo@swv.example", Subject: "Afwezig: uw bericht",
		From: intake.Address{Address: "afwezig@swv.example"}, Text: "Ik ben afwezig tot maandag."},
		intake.Classification{Kind: intake.KindAutoReply, Reasons: []intake.Reason{{Rule: "header:auto-submitted"}}})

	if _, err := st.PutUser("Lotte Leider", deskUser, deskPassword, e.now); err != nil {
		t.Fatal(err)
	}
	o := DeskOptions{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return e.now },
		Mailboxes: []string{"ondersteuning", "praktijktoets"}, Templates: tmpl.Names()}
	if withActions {
		o.Actions = &workflow.Desk{Store: st, Policy: e.pol}
	}
	d, err := NewDesk(o)
	if err != nil {
		t.Fatal(err)
	}
	e.desk = d
	api := &API{Store: st, Token: testToken, Log: o.Log}
	e.srv = httptest.NewServer(Mount(api, d))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *deskEnv) ingest(name, mailbox string, m *intake.Message, c intake.Classification) {
	e.t.Helper()
	e.ingestRaw(name, mailbox, []byte("Subject: raw\r\n\r\nraw "+m.MessageID), m, c)
}

func (e *deskEnv) ingestRaw(name, mailbox string, raw []byte, m *intake.Message, c intake.Classification) {
	e.t.Helper()
	e.uid++
	e.now = e.now.Add(time.Hour)
	if m.Date.IsZero() {
		m.Date = e.now
	}
	res, err := e.store.Ingest(workflow.Inbound{Mailbox: mailbox, UIDValidity: 1, UID: e.uid, Raw: raw, Msg: m, Class: c}, e.pol)
	if err != nil {
		e.t.Fatal(err)
	}
	if name != "" {
		e.refs[name] = res.TicketRef
	}
}

// client is a browser: a cookie jar and no automatic redirects.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (e *deskEnv) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, base: e.srv.URL, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type response struct {
	*http.Response
	body string
}

func (c *client) do(method, path string, form url.Values) response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp, string(b)}
}

func (c *client) get(path string) response { c.t.Helper(); return c.do("GET", path, nil) }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in page:\n%s", page)
	}
	return m[1]
}

func (c *client) login(addr, pw string) response {
	c.t.Helper()
	page := c.get("/login")
	return c.do("POST", "/login", url.Values{"csrf": {csrfOf(c.t, page.body)}, "adres": {addr}, "wachtwoord": {pw}})
}

// loggedIn returns a client with a session and the session's CSRF token.
func (e *deskEnv) loggedIn() (*client, string) {
	e.t.Helper()
	c := e.client()
	if r := c.login(deskUser, deskPassword); r.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login: %d\n%s", r.StatusCode, r.body)
	}
	page := c.get("/")
	if page.StatusCode != 200 {
		e.t.Fatalf("queue after login: %d", page.StatusCode)
	}
	return c, csrfOf(e.t, page.body)
}

func TestDeskNeedsSession(t *testing.T) {
	e := newDeskEnv(t, true)
	c := e.client()
	ref := e.refs["clinic"]
	for _, path := range []string{"/", "/?q=clinic", "/tickets/" + ref, "/unmatched", "/overview", "/export.csv",
		"/tickets/" + ref + "/messages/1/raw", "/tickets/" + e.refs["bijlage"] + "/messages/4/attachments/0"} {
		r := c.get(path)
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
			t.Errorf("GET %s without session: %d to %q, want 303 to /login", path, r.StatusCode, r.Header.Get("Location"))
		}
	}
	for _, path := range []string{"/logout", "/tickets/" + ref + "/type", "/tickets/" + ref + "/actions/note", "/unmatched/5/dismiss"} {
		if r := c.do("POST", path, url.Values{"csrf": {"x"}}); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST %s without session: %d, want 401", path, r.StatusCode)
		}
	}
	for _, path := range []string{"/login", "/static/desk.css"} {
		if r := c.get(path); r.StatusCode != 200 {
			t.Errorf("GET %s: %d, want 200", path, r.StatusCode)
		}
	}
	// A forged session cookie is no session.
	u, _ := url.Parse(e.srv.URL)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: strings.Repeat("ab", 32)}})
	if r := c.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("forged cookie: %d", r.StatusCode)
	}
}

func TestDeskLoginLogout(t *testing.T) {
	e := newDeskEnv(t, false)
	c := e.client()
	tests := []struct {
		name, addr, pw string
		want           int
	}{
		{"unknown address", "nobody@poraad.example", deskPassword, http.StatusUnauthorized},
		{"wrong password", deskUser, "wrong-password-1", http.StatusUnauthorized},
		{"empty", "", "", http.StatusUnauthorized},
		{"upper-case address", strings.ToUpper(deskUser), deskPassword, http.StatusSeeOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.login(tc.addr, tc.pw)
			if r.StatusCode != tc.want {
				t.Fatalf("status %d, want %d\n%s", r.StatusCode, tc.want, r.body)
			}
			if tc.want != http.StatusSeeOther && !strings.Contains(r.body, "Onbekend adres of verkeerd wachtwoord") {
				t.Errorf("no error message in page")
			}
		})
	}
	// The session cookie has the right flags.
	var cookie *http.Cookie
	r := e.client().login(deskUser, deskPassword)
	for _, ck := range r.Cookies() {
		if ck.Name == sessionCookie {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || len(cookie.Value) != 64 {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure over http, 32 random bytes", cookie)
	}

	page := c.get("/")
	if page.StatusCode != 200 || !strings.Contains(page.body, "Lotte Leider") {
		t.Fatalf("queue: %d", page.StatusCode)
	}
	// Logout needs the CSRF token, then ends the session for good.
	if r := c.do("POST", "/logout", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("logout without token: %d", r.StatusCode)
	}
	if r := c.do("POST", "/logout", url.Values{"csrf": {csrfOf(t, page.body)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	if r := c.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: %d, want redirect to login", r.StatusCode)
	}

	// A login form without its double-submit cookie is refused.
	bare := e.client()
	tok := csrfOf(t, bare.get("/login").body)
	fresh := e.client()
	if r := fresh.do("POST", "/login", url.Values{"csrf": {tok}, "adres": {deskUser}, "wachtwoord": {deskPassword}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("login with another browser's token: %d, want 403", r.StatusCode)
	}
	// Back to the page asked for.
	nc := e.client()
	login := nc.get("/tickets/" + e.refs["clinic"])
	if loc := login.Header.Get("Location"); !strings.Contains(loc, "terug=") {
		t.Fatalf("redirect %q carries no way back", loc)
	}
	lp := nc.get(login.Header.Get("Location"))
	r = nc.do("POST", "/login", url.Values{"csrf": {csrfOf(t, lp.body)}, "adres": {deskUser}, "wachtwoord": {deskPassword},
		"terug": {"/tickets/" + e.refs["clinic"]}})
	if loc := r.Header.Get("Location"); loc != "/tickets/"+e.refs["clinic"] {
		t.Errorf("after login to %q", loc)
	}
}

func TestDeskSecureCookieBehindHTTPS(t *testing.T) {
	e := newDeskEnv(t, false)
	d, err := NewDesk(DeskOptions{Store: e.store, BaseURL: "https://loket.example.org", Log: e.desk.o.Log})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/login", nil)
	d.Handler().ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if !ck.Secure || !ck.HttpOnly {
			t.Errorf("cookie %s: Secure=%v HttpOnly=%v behind https base_url", ck.Name, ck.Secure, ck.HttpOnly)
		}
	}
}

func TestDeskSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "/",
		"/tickets/PO-2026-1":   "/tickets/PO-2026-1",
		"//evil.example/":      "/",
		"https://evil.example": "/",
		"/\\evil.example":      "/",
		"javascript:alert(1)":  "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDeskLoginThrottle(t *testing.T) {
	e := newDeskEnv(t, false)
	c := e.client()
	for i := range maxFailsPerUser {
		if r := c.login(deskUser, fmt.Sprintf("wrong-password-%d", i)); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, r.StatusCode)
		}
	}
	r := c.login(deskUser, deskPassword)
	if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(r.body, "Te veel mislukte pogingen") {
		t.Fatalf("after %d failures the right password: %d, want 429", maxFailsPerUser, r.StatusCode)
	}
	// After the window the address may try again.
	e.now = e.now.Add(throttleWindow + time.Second)
	if r := c.login(deskUser, deskPassword); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the window: %d", r.StatusCode)
	}

	// Per IP: many addresses from one client.
	th := newThrottle()
	now := time.Now()
	for i := range maxFailsPerIP {
		th.fail(now, fmt.Sprintf("user:u%d@x", i), "ip:192.0.2.1")
	}
	if th.blocked(now, "user:new@x", "ip:192.0.2.1") == 0 {
		t.Error("IP not blocked after many failures")
	}
	if th.blocked(now, "user:new@x", "ip:192.0.2.2") != 0 {
		t.Error("another IP blocked")
	}
}

func TestDeskHeaders(t *testing.T) {
	e := newDeskEnv(t, false)
	c, _ := e.loggedIn()
	for _, path := range []string{"/login", "/", "/tickets/" + e.refs["clinic"], "/overview", "/unmatched", "/nope"} {
		r := c.get(path)
		for h, want := range map[string]string{
			"Content-Security-Policy": contentSecurityPolicy,
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "same-origin",
			"X-Content-Type-Options":  "nosniff",
		} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, h, got, want)
			}
		}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") && strings.Contains(r.body, "<script") {
			t.Errorf("GET %s: page has a script element", path)
		}
	}
}

// inert checks that a page has no script, event handler, javascript: URL
// or remote image from the mail.
func inert(t *testing.T, page string) {
	t.Helper()
	low := strings.ToLower(page)
	for _, bad := range []string{"<script", "<iframe", "javascript:", "tracker.example", "evil.example/\"", "<form action=\"http"} {
		if strings.Contains(low, bad) {
			i := strings.Index(low, bad)
			t.Errorf("page contains %q: …%s…", bad, page[max(0, i-80):min(len(page), i+80)])
		}
	}
	if m := regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`).FindString(page); m != "" {
		t.Errorf("page has an event handler attribute: %s", m)
	}
	if m := regexp.MustCompile(`(?i)<img[^>]*src="(https?:)?//`).FindString(page); m != "" {
		t.Errorf("page has a remote image: %s", m)
	}
	if m := regexp.MustCompile(`(?i)style="`).FindString(page); m != "" {
		t.Errorf("page has a style attribute: %s", m)
	}
}

func TestDeskXSSInert(t *testing.T) {
	e := newDeskEnv(t, true)
	c, _ := e.loggedIn()
	ref := e.refs["xss"]
	for _, path := range []string{"/", "/?q=script", "/tickets/" + ref, "/overview", "/unmatched"} {
		r := c.get(path)
		if r.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, r.StatusCode)
		}
		inert(t, r.body)
	}
	page := c.get("/tickets/" + ref).body
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;", // the subject, as text
		`<a href="https://www.poraad.nl/"`,      // a good link stays
		`rel="nofollow noreferrer noopener"`,
		`src="data:image/png;base64,iVBORw0KGgo="`, // an inline image stays
		"klik hier",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("ticket page lacks %q", want)
		}
	}
	if q := c.get("/?q=script").body; !strings.Contains(q, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("queue does not show the subject as text")
	}
}

func TestDeskQueue(t *testing.T) {
	e := newDeskEnv(t, false)
	c, _ := e.loggedIn()
	tests := []struct {
		query string
		want  []string // names of tickets listed
		not   []string
	}{
		{"", []string{"clinic", "toets", "xss", "bijlage"}, nil},
		{"q=spiegelteam", []string{"toets"}, []string{"clinic", "xss", "bijlage"}},                        // body word
		{"q=financi", []string{"clinic"}, []string{"toets"}},                                              // part of a body word
		{"q=duinstreek", []string{"clinic"}, []string{"toets"}},                                           // organisation
		{"q=hoogland", []string{"toets"}, []string{"clinic"}},                                             // requester
		{"q=CLINIC+ondersteuningsplan", []string{"clinic", "bijlage"}, []string{"toets"}},                 // every word, any field
		{"q=" + url.QueryEscape(strings.ToLower(e.refs["toets"])), []string{"toets"}, []string{"clinic"}}, // reference
		{"type=praktijktoets", []string{"toets"}, []string{"clinic"}},
		{"mailbox=ondersteuning", []string{"clinic", "xss"}, []string{"toets"}},
		{"wie=vrij", []string{"clinic", "toets"}, nil},
		{"wie=mijn", nil, []string{"clinic", "toets"}},
		{"status=closed", nil, []string{"clinic", "toets"}},
		{"status=alle&sort=wachtend", []string{"clinic", "toets"}, nil},
		{"q=geen-treffer-xyz", nil, []string{"clinic", "toets"}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			r := c.get("/?" + tc.query)
			if r.StatusCode != 200 {
				t.Fatalf("status %d", r.StatusCode)
			}
			for _, n := range tc.want {
				if !strings.Contains(r.body, ">"+e.refs[n]+"</a>") {
					t.Errorf("%s (%s) not listed", n, e.refs[n])
				}
			}
			for _, n := range tc.not {
				if strings.Contains(r.body, ">"+e.refs[n]+"</a>") {
					t.Errorf("%s (%s) listed", n, e.refs[n])
				}
			}
		})
	}
	// Counts per state and the order.
	r := c.get("/?sort=wachtend")
	if !strings.Contains(r.body, "bevestigd</span> <b>4</b>") {
		t.Errorf("no count of 4 acknowledged tickets in the header row")
	}
	// By arrival, not by the Date the sender's clock wrote (the mail with
	// the attachment says it was sent first).
	if a, b, c := strings.Index(r.body, ">"+e.refs["clinic"]+"<"), strings.Index(r.body, ">"+e.refs["toets"]+"<"), strings.Index(r.body, ">"+e.refs["bijlage"]+"<"); a > b || b > c {
		t.Errorf("oldest waiting not first")
	}
	r = c.get("/")
	if a, b := strings.Index(r.body, ">"+e.refs["clinic"]+"<"), strings.Index(r.body, ">"+e.refs["bijlage"]+"<"); a < b {
		t.Errorf("newest not first")
	}
}

func TestDeskTicketPage(t *testing.T) {
	e := newDeskEnv(t, true)
	c, _ := e.loggedIn()
	ref := e.refs["clinic"]
	r := c.get("/tickets/" + strings.ToLower(ref))
	if r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	for _, want := range []string{
		"Clinic ondersteuningsplan", "Wij willen graag een clinic", // inbound
		"automatisch verstuurd", "in de wachtrij", // the confirmation, outbound
		"type:clinic:body:clinic", // a reason
		"Logboek", "ticket aangemaakt",
		`action="/tickets/` + ref + `/type"`,
		`action="/tickets/` + ref + `/actions/reply"`,
		`action="/tickets/` + ref + `/actions/note"`,
		`action="/tickets/` + ref + `/actions/assign"`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("ticket page lacks %q", want)
		}
	}
	// Every input has a label.
	for _, m := range regexp.MustCompile(`<(?:input|select|textarea)[^>]*\sid="([^"]+)"`).FindAllStringSubmatch(r.body, -1) {
		if !strings.Contains(r.body, `for="`+m[1]+`"`) {
			t.Errorf("input %s has no label", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`<(?:input|select|textarea)[^>]*>`).FindAllString(r.body, -1) {
		if !strings.Contains(m, `type="hidden"`) && !strings.Contains(m, ` id="`) {
			t.Errorf("input without id (and so without label): %s", m)
		}
	}
	if r := c.get("/tickets/PO-2099-9999"); r.StatusCode != 404 {
		t.Errorf("unknown ticket: %d", r.StatusCode)
	}
}

func TestDeskAttachments(t *testing.T) {
	e := newDeskEnv(t, false)
	c, _ := e.loggedIn()
	ref := e.refs["bijlage"]
	tk, err := e.store.Ticket(ref)
	if err != nil {
		t.Fatal(err)
	}
	seq := tk.Messages[0].Seq
	page := c.get("/tickets/" + ref).body
	link := fmt.Sprintf("/tickets/%s/messages/%d/attachments/0", ref, seq)
	if !strings.Contains(page, link) || !strings.Contains(page, "programma.pdf") {
		t.Fatalf("ticket page lacks the attachment link %s", link)
	}
	r := c.get(link)
	if r.StatusCode != 200 {
		t.Fatalf("download: %d %s", r.StatusCode, r.body)
	}
	for h, want := range map[string]string{
		"Content-Disposition":    `attachment; filename=programma.pdf`,
		"Content-Type":           "application/pdf",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if !strings.HasPrefix(r.body, "%PDF-1.4") {
		t.Errorf("content %q", r.body)
	}
	other := e.refs["clinic"]
	for _, path := range []string{
		fmt.Sprintf("/tickets/%s/messages/%d/attachments/0", other, seq), // another ticket's message
		fmt.Sprintf("/tickets/%s/messages/%d/attachments/1", ref, seq),   // no such attachment
		fmt.Sprintf("/tickets/%s/messages/%d/attachments/-1", ref, seq),
		fmt.Sprintf("/tickets/%s/messages/x/attachments/0", ref),
		fmt.Sprintf("/tickets/%s/messages/%d/raw", other, seq),
	} {
		if r := c.get(path); r.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, r.StatusCode)
		}
	}
	raw := c.get(fmt.Sprintf("/tickets/%s/messages/%d/raw", ref, seq))
	if raw.StatusCode != 200 || !strings.HasPrefix(raw.Header.Get("Content-Disposition"), "attachment") || raw.body != rawWithAttachment {
		t.Errorf("raw: %d %q", raw.StatusCode, raw.Header.Get("Content-Disposition"))
	}
}

func TestDeskCSRFAndRetype(t *testing.T) {
	e := newDeskEnv(t, false)
	c, tok := e.loggedIn()
	ref := e.refs["clinic"]
	tests := []struct {
		name string
		form url.Values
		want int
	}{
		{"no token", url.Values{"type": {"training"}}, http.StatusForbidden},
		{"wrong token", url.Values{"type": {"training"}, "csrf": {strings.Repeat("0", 64)}}, http.StatusForbidden},
		{"unknown type", url.Values{"type": {"feest"}, "csrf": {tok}}, http.StatusBadRequest},
		{"good", url.Values{"type": {"maatwerkbijeenkomst"}, "notitie": {"het gaat om maatwerk"}, "csrf": {tok}}, http.StatusSeeOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := c.do("POST", "/tickets/"+ref+"/type", tc.form); r.StatusCode != tc.want {
				t.Fatalf("status %d, want %d\n%s", r.StatusCode, tc.want, r.body)
			}
		})
	}
	tk, _ := e.store.Ticket(ref)
	if tk.Type != intake.TypeMaatwerkbijeenkomst || tk.Audit[len(tk.Audit)-1].Actor != deskUser {
		t.Errorf("type %s, last audit %+v", tk.Type, tk.Audit[len(tk.Audit)-1])
	}
	page := c.get("/tickets/" + ref + "?ok=type").body
	if !strings.Contains(page, "Het type is aangepast.") || !strings.Contains(page, "met de hand gewijzigd") {
		t.Error("no confirmation or correction shown")
	}
	// The queue's type filter sees the change at once.
	if q := c.get("/?type=maatwerkbijeenkomst").body; !strings.Contains(q, ">"+ref+"</a>") {
		t.Error("retyped ticket not found under its new type")
	}
	// A POST from another site is refused even with a token.
	req, _ := http.NewRequest("POST", e.srv.URL+"/tickets/"+ref+"/type", strings.NewReader(url.Values{"type": {"training"}, "csrf": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d", resp.StatusCode)
	}
}

func TestDeskUnmatched(t *testing.T) {
	e := newDeskEnv(t, false)
	e.ingest("", "ondersteuning", &intake.Message{MessageID: "bounce@mailer.example", Subject: "Undeliverable",
		From: intake.Address{Address: "mailer-daemon@mailer.example"}, Text: "Delivery failed."},
		intake.Classification{Kind: intake.KindBounce})
	c, tok := e.loggedIn()
	un, err := e.store.Unmatched()
	if err != nil || len(un) != 2 {
		t.Fatalf("unmatched: %d %v", len(un), err)
	}
	page := c.get("/unmatched").body
	for _, u := range un {
		if !strings.Contains(page, u.Message.Subject) {
			t.Errorf("unmatched page lacks %q", u.Message.Subject)
		}
	}
	bounce, ooo := un[0], un[1]
	ref := e.refs["toets"]
	tests := []struct {
		name, path string
		form       url.Values
		want       int
	}{
		{"attach to unknown ticket", fmt.Sprintf("/unmatched/%d/attach", bounce.Seq), url.Values{"ticket": {"PO-2099-0001"}, "csrf": {tok}}, http.StatusBadRequest},
		{"attach", fmt.Sprintf("/unmatched/%d/attach", bounce.Seq), url.Values{"ticket": {strings.ToLower(ref)}, "csrf": {tok}}, http.StatusSeeOther},
		{"attach again", fmt.Sprintf("/unmatched/%d/attach", bounce.Seq), url.Values{"ticket": {ref}, "csrf": {tok}}, http.StatusConflict},
		{"dismiss a ticket's message", fmt.Sprintf("/unmatched/%d/dismiss", bounce.Seq), url.Values{"csrf": {tok}}, http.StatusConflict},
		{"dismiss", fmt.Sprintf("/unmatched/%d/dismiss", ooo.Seq), url.Values{"csrf": {tok}}, http.StatusSeeOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := c.do("POST", tc.path, tc.form); r.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", r.StatusCode, tc.want)
			}
		})
	}
	if un, _ := e.store.Unmatched(); len(un) != 0 {
		t.Errorf("%d unmatched left", len(un))
	}
	tk, _ := e.store.Ticket(ref)
	if !tk.Bounced || tk.Messages[len(tk.Messages)-1].Seq != bounce.Seq {
		t.Errorf("bounce not on the ticket: bounced=%v", tk.Bounced)
	}
	if page := c.get("/tickets/" + ref).body; !strings.Contains(page, "Undeliverable") || !strings.Contains(page, "gekoppeld") {
		t.Error("ticket page does not show the attached bounce and its audit entry")
	}
	rec, _ := e.store.Message(ooo.Seq)
	if !rec.Dismissed {
		t.Error("dismissed message not marked")
	}
}

func TestDeskOverviewAndCSV(t *testing.T) {
	e := newDeskEnv(t, true)
	c, tok := e.loggedIn()
	// One human answer, to have a time to first answer.
	e.now = e.now.Add(3 * time.Hour)
	if r := c.do("POST", "/tickets/"+e.refs["clinic"]+"/actions/reply", url.Values{"tekst": {"Wij nemen contact op."}, "csrf": {tok}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reply: %d\n%s", r.StatusCode, r.body)
	}
	r := c.get("/overview")
	if r.StatusCode != 200 {
		t.Fatalf("overview: %d", r.StatusCode)
	}
	for _, want := range []string{"<svg", `role="img"`, "Nieuwe aanvragen per maand", "SWV Duinstreek", "Mediaan over 1 beantwoorde tickets"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	inert(t, r.body)

	r = c.get("/export.csv?status=alle")
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	lines := strings.Split(strings.TrimSpace(r.body), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "referentie,") {
		t.Fatalf("csv has %d lines:\n%s", len(lines), r.body)
	}
	if !strings.Contains(r.body, `'=`) && strings.Contains(r.body, `,=`) {
		t.Error("formula not neutralised")
	}
	if got := csvSafe("=HYPERLINK(1)"); got != "'=HYPERLINK(1)" {
		t.Errorf("csvSafe: %q", got)
	}
}

func TestDeskActions(t *testing.T) {
	e := newDeskEnv(t, true)
	c, tok := e.loggedIn()
	ref := e.refs["clinic"]
	post := func(action string, form url.Values) response {
		t.Helper()
		form.Set("csrf", tok)
		return c.do("POST", "/tickets/"+ref+"/actions/"+action, form)
	}
	// Preview renders the reply without queueing it.
	before, _ := e.store.Outbox(true)
	r := post("reply", url.Values{"tekst": {"Wij bellen u deze week."}, "voorbeeld": {"1"}})
	if r.StatusCode != 200 || !strings.Contains(r.body, "Voorbeeld") || !strings.Contains(r.body, "Wij bellen u deze week.") {
		t.Fatalf("preview: %d", r.StatusCode)
	}
	if after, _ := e.store.Outbox(true); len(after) != len(before) {
		t.Fatal("preview queued a mail")
	}
	tests := []struct {
		action string
		form   url.Values
		want   int
		check  func(*workflow.Ticket) string
	}{
		{"assign", url.Values{"aan": {deskUser}}, http.StatusSeeOther, func(tk *workflow.Ticket) string {
			if tk.Assignee != deskUser || tk.State != workflow.StateAssigned {
				return fmt.Sprintf("assignee %q state %s", tk.Assignee, tk.State)
			}
			return ""
		}},
		{"note", url.Values{"tekst": {"Even bellen met Marloes."}}, http.StatusSeeOther, nil},
		{"note", url.Values{"tekst": {" "}}, http.StatusBadRequest, nil},
		{"reply", url.Values{"tekst": {"Wij bellen u deze week."}}, http.StatusSeeOther, nil},
		{"propose", url.Values{"datum1": {"2026-03-12"}, "van1": {"14:00"}, "tot1": {"16:00"}, "datum2": {"2026-03-19"}, "van2": {"10:00"}, "tot2": {"12:00"}, "locatie": {"Utrecht"}},
			http.StatusSeeOther, func(tk *workflow.Ticket) string {
				if tk.State != workflow.StateProposed || tk.Proposal == nil || len(tk.Proposal.Slots) != 2 {
					return fmt.Sprintf("state %s proposal %+v", tk.State, tk.Proposal)
				}
				return ""
			}},
		{"propose", url.Values{"datum1": {"2026-03-12"}, "van1": {"16:00"}, "tot1": {"14:00"}}, http.StatusBadRequest, nil},
		{"schedule", url.Values{"datum": {"2026-03-12"}, "van": {"14:00"}, "tot": {"16:00"}, "locatie": {"Utrecht"}}, http.StatusSeeOther,
			func(tk *workflow.Ticket) string {
				if tk.State != workflow.StateScheduled || tk.Appointment == nil || tk.Appointment.Start.In(amsterdam).Hour() != 14 {
					return fmt.Sprintf("state %s appointment %+v", tk.State, tk.Appointment)
				}
				return ""
			}},
		{"event", url.Values{"event": {"publish"}}, http.StatusConflict, nil},
		{"event", url.Values{"event": {"hold"}}, http.StatusSeeOther, func(tk *workflow.Ticket) string {
			if tk.State != workflow.StateHeld {
				return "state " + string(tk.State)
			}
			return ""
		}},
		{"nonsense", url.Values{}, http.StatusNotFound, nil},
	}
	for _, tc := range tests {
		t.Run(tc.action, func(t *testing.T) {
			r := post(tc.action, tc.form)
			if r.StatusCode != tc.want {
				t.Fatalf("status %d, want %d\n%s", r.StatusCode, tc.want, errorText(r.body))
			}
			if tc.check != nil {
				tk, _ := e.store.Ticket(ref)
				if msg := tc.check(tk); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
	page := c.get("/tickets/" + ref).body
	for _, want := range []string{"Even bellen met Marloes.", "interne notitie", "Wij bellen u deze week.", "Lotte Leider"} {
		if !strings.Contains(page, want) {
			t.Errorf("ticket page lacks %q", want)
		}
	}
	// The thread is in time order: the request before our reply.
	if a, b := strings.Index(page, "Wij willen graag een clinic"), strings.Index(page, "Wij bellen u deze week."); a < 0 || b < a {
		t.Error("thread not in order")
	}
	// The queue now shows the leader.
	if q := c.get("/?wie=mijn").body; !strings.Contains(q, ">"+ref+"</a>") || !strings.Contains(q, "Lotte Leider") && !strings.Contains(q, deskUser) {
		t.Error("mine filter does not list the assigned ticket with its leader")
	}
}

// errorText returns the error paragraph of a page, for messages.
func errorText(page string) string {
	if m := regexp.MustCompile(`(?s)<p class="error"[^>]*>(.*?)</p>`).FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return page[:min(len(page), 500)]
}

func TestUsersAPI(t *testing.T) {
	e := newDeskEnv(t, false)
	srv := e.srv
	tests := []struct {
		name, body string
		token      string
		want       int
	}{
		{"no token", `{"name":"A","address":"a@poraad.example","password":"long-enough-pw"}`, "", 401},
		{"new", `{"name":"Anne","address":"Anne@PORAAD.example","password":"long-enough-pw"}`, testToken, 201},
		{"update", `{"name":"Anne B","address":"anne@poraad.example","password":"another-long-pw"}`, testToken, 200},
		{"short password", `{"name":"B","address":"b@poraad.example","password":"kort"}`, testToken, 400},
		{"bad address", `{"name":"B","address":"geen adres","password":"long-enough-pw"}`, testToken, 400},
		{"no name", `{"name":" ","address":"b@poraad.example","password":"long-enough-pw"}`, testToken, 400},
		{"unknown field", `{"name":"B","address":"b@poraad.example","password":"long-enough-pw","admin":true}`, testToken, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(t, srv, "POST", "/api/v1/users", tc.token, tc.body)
			if code != tc.want {
				t.Fatalf("status %d, want %d: %s", code, tc.want, body)
			}
			if strings.Contains(body, "password") {
				t.Errorf("answer mentions the password: %s", body)
			}
		})
	}
	code, body := call(t, srv, "GET", "/api/v1/users", testToken, "")
	if code != 200 || !strings.Contains(body, `"anne@poraad.example"`) || strings.Contains(body, "hash") {
		t.Errorf("list: %d %s", code, body)
	}
	c := e.client()
	if r := c.login("anne@poraad.example", "another-long-pw"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("login with the new password: %d", r.StatusCode)
	}
}

func TestDeskPlanning(t *testing.T) {
	e := newDeskEnv(t, true)
	start := e.now.Add(7 * 24 * time.Hour)
	e.pol.Settings = &workflow.Settings{Sessions: []workflow.MeetingSession{{ID: "train-1", Type: intake.TypeTraining,
		Title: "Training kwartiermakers", Start: start, End: start.Add(3 * time.Hour), Location: "Utrecht", Capacity: 1}}}
	for _, n := range []string{"train-a", "train-b"} {
		e.ingest(n, "ondersteuning", &intake.Message{MessageID: n + "@swv.example", Subject: "Aanmelding training " + n,
			From: intake.Address{Name: "Deelnemer " + n, Address: n + "@swv.example"}, Text: "Graag aanmelden."},
			intake.Classification{Kind: intake.KindNew, Type: intake.TypeTraining, Org: "SWV " + n})
	}
	c, tok := e.loggedIn()
	for _, n := range []string{"train-a", "train-b"} {
		page := c.get("/tickets/" + e.refs[n]).body
		if !strings.Contains(page, `<option value="train-1"`) {
			t.Fatalf("%s: no place form with the session", n)
		}
		if r := c.do("POST", "/tickets/"+e.refs[n]+"/actions/place", url.Values{"sessie": {"train-1"}, "csrf": {tok}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("place %s: %d %s", n, r.StatusCode, errorText(r.body))
		}
	}
	clinic := e.refs["clinic"]
	day := start.In(amsterdam).Format("2006-01-02")
	for _, step := range []struct{ action string }{{"assign"}, {"schedule"}} {
		form := url.Values{"csrf": {tok}, "aan": {deskUser}, "datum": {day}, "van": {"10:00"}, "tot": {"12:00"}, "locatie": {"Zwolle"}}
		if r := c.do("POST", "/tickets/"+clinic+"/actions/"+step.action, form); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", step.action, r.StatusCode, errorText(r.body))
		}
	}
	r := c.get("/planning")
	if r.StatusCode != 200 {
		t.Fatalf("planning: %d", r.StatusCode)
	}
	for _, want := range []string{
		"Training kwartiermakers", "1 van 1 plaatsen bezet, 1 op de wachtlijst",
		"Deelnemer train-a", "Deelnemer train-b", // going, and waiting
		">" + clinic + "</a>", "Zwolle", "10:00", "–12:00", "Lotte Leider",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("planning lacks %q", want)
		}
	}
	inert(t, r.body)
}

// TestDeskPurgedMessage: a message whose content was removed (retention,
// a request to be forgotten) says so on the ticket page instead of an
// empty body, and offers no original to download.
func TestDeskPurgedMessage(t *testing.T) {
	e := newDeskEnv(t, true)
	c, _ := e.loggedIn()
	ref := e.refs["clinic"]
	before := c.get("/tickets/" + ref).body
	if !strings.Contains(before, "financiën van het ondersteuningsplan") || !strings.Contains(before, "Origineel bericht (.eml)") {
		t.Fatal("the ticket page lacks the message or its original before the purge")
	}
	if _, err := e.store.ForgetAddress("m.duinkerk@swv-duinstreek.example", true, "test", e.now); err != nil {
		t.Fatal(err)
	}
	page := c.get("/tickets/" + ref).body
	if !strings.Contains(page, "De inhoud van dit bericht is verwijderd") {
		t.Error("the purged message does not say its content was removed")
	}
	if strings.Contains(page, "financiën van het ondersteuningsplan") {
		t.Error("the purged message still shows its text")
	}
	if strings.Contains(page, "/messages/") && strings.Contains(page, "Origineel bericht (.eml)") {
		t.Error("the purged message still links to its original")
	}
	code, body := call(t, e.srv, "GET", "/api/v1/tickets/"+ref, testToken, "")
	var d TicketDetail
	if err := json.Unmarshal([]byte(body), &d); code != 200 || err != nil || len(d.Messages) == 0 || !d.Messages[0].Purged {
		t.Errorf("API: %d %v, the first message not shown as purged: %.300s", code, err, body)
	}
}
