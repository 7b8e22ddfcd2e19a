package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/microcosm-cc/bluemonday"

	"github.com/poraad/loket/workflow"
)

// The project leaders' desk: server-rendered pages in Dutch, no JavaScript.
// Every page but the login page needs a session; every form carries the
// session's CSRF token. Templates and the stylesheet are embedded and
// parsed when the desk is made, so a broken template fails at start.

//go:embed templates/*.html
var deskTemplates embed.FS

//go:embed static
var deskStatic embed.FS

// contentSecurityPolicy allows nothing from elsewhere and no inline script
// or style: the desk needs neither.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// DeskOptions configures the desk.
type DeskOptions struct {
	Store *workflow.Store
	// Actions carries out assign, reply, note, propose, schedule, place and
	// transitions; nil shows no action forms.
	Actions *workflow.Desk
	// Leaders are the configured project leaders, offered when assigning.
	Leaders []workflow.Leader
	// Mailboxes are the mailbox names, for the queue's filter.
	Mailboxes []string
	// Templates are the names of the mail templates a reply may use.
	Templates []string
	Log       *slog.Logger
	// BaseURL is the desk's public address; https makes cookies Secure.
	BaseURL string
	// SessionTTL is how long a login lasts; default 7 days.
	SessionTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Desk serves the project leaders' pages.
type Desk struct {
	o        DeskOptions
	pages    map[string]*template.Template
	policy   *bluemonday.Policy
	throttle *throttle
	secure   bool
}

// deskPages are the page templates, each parsed with layout.html.
var deskPages = []string{"login", "queue", "ticket", "unmatched", "overview", "planning", "error"}

// NewDesk parses the templates and returns the desk.
func NewDesk(o DeskOptions) (*Desk, error) {
	if o.Store == nil {
		return nil, errors.New("desk: no store")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 7 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := &Desk{o: o, pages: map[string]*template.Template{}, policy: mailPolicy(), throttle: newThrottle()}
	if u, err := url.Parse(o.BaseURL); err == nil && u.Scheme == "https" {
		d.secure = true
	}
	for _, name := range deskPages {
		t, err := template.New(name).Funcs(deskFuncs).ParseFS(deskTemplates, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("desk template %s: %w", name, err)
		}
		d.pages[name] = t
	}
	return d, nil
}

// Handler returns the desk's routes, all listed here.
func (d *Desk) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(deskStatic, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", d.loginPage)
	mux.HandleFunc("POST /login", d.login)
	mux.Handle("POST /logout", d.auth(d.logout))
	mux.Handle("GET /{$}", d.auth(d.queue))
	mux.Handle("GET /export.csv", d.auth(d.exportCSV))
	mux.Handle("GET /tickets/{ref}", d.auth(d.ticket))
	mux.Handle("GET /tickets/{ref}/messages/{seq}/attachments/{index}", d.auth(d.attachment))
	mux.Handle("GET /tickets/{ref}/messages/{seq}/raw", d.auth(d.rawMessage))
	mux.Handle("POST /tickets/{ref}/type", d.auth(d.retype))
	mux.Handle("POST /tickets/{ref}/actions/{action}", d.auth(d.action))
	mux.Handle("GET /unmatched", d.auth(d.unmatched))
	mux.Handle("POST /unmatched/{seq}/attach", d.auth(d.attachUnmatched))
	mux.Handle("POST /unmatched/{seq}/dismiss", d.auth(d.dismissUnmatched))
	mux.Handle("GET /overview", d.auth(d.overview))
	mux.Handle("GET /planning", d.auth(d.planning))
	mux.HandleFunc("/", d.notFound)
	return http.NewCrossOriginProtection().Handler(deskHeaders(mux))
}

// Mount serves the API under /api/ and /healthz and the desk everywhere
// else, on one listener.
func Mount(api *API, desk *Desk) http.Handler {
	mux := http.NewServeMux()
	ah := api.Handler()
	mux.Handle("/api/", ah)
	mux.Handle("/healthz", ah)
	if desk != nil {
		mux.Handle("/", desk.Handler())
	}
	return mux
}

func deskHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// page is what every page's data carries.
type page struct {
	Title string
	Nav   string // the active menu item
	User  *workflow.User
	CSRF  string
	Flash string
	Error string
}

// render executes a page into a buffer, so a failing template gives a
// clean 500 rather than half a page.
func (d *Desk) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := d.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		d.o.Log.Error("desk: render page", "page", name, "path", r.URL.Path, "err", err)
		http.Error(w, "Interne fout bij het tonen van de pagina.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

type errorData struct {
	page
	Status  int
	Message string
}

// fail shows an error page; err is logged, never shown.
func (d *Desk) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "Er ging iets mis. De fout is gelogd."
	if workflow.IsNotFound(err) {
		status, msg = http.StatusNotFound, "Niet gevonden."
	} else {
		d.o.Log.Error("desk request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	d.showError(w, r, status, msg)
}

func (d *Desk) showError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	data := errorData{page: page{Title: "Fout"}, Status: status, Message: msg}
	if s := sessionFrom(r); s != nil {
		data.User, data.CSRF = s.user, s.sess.CSRF
	}
	d.render(w, r, status, "error", data)
}

func (d *Desk) notFound(w http.ResponseWriter, r *http.Request) {
	d.showError(w, r, http.StatusNotFound, "Deze pagina bestaat niet.")
}

// base returns the common page data for a request with a session.
func (d *Desk) base(r *http.Request, title, nav string) page {
	p := page{Title: title, Nav: nav}
	if s := sessionFrom(r); s != nil {
		p.User, p.CSRF = s.user, s.sess.CSRF
	}
	p.Flash = flashes[r.URL.Query().Get("ok")]
	return p
}

// flashes are the fixed messages a redirect after a form may show.
var flashes = map[string]string{
	"type":      "Het type is aangepast.",
	"assign":    "Het ticket is toegewezen.",
	"reply":     "Het antwoord staat klaar om te versturen.",
	"note":      "De notitie is opgeslagen.",
	"propose":   "Het voorstel met data staat klaar om te versturen.",
	"schedule":  "De afspraak is vastgelegd; de uitnodiging staat klaar om te versturen.",
	"place":     "De aanmelding is in de sessie geplaatst.",
	"event":     "De status is bijgewerkt.",
	"attached":  "Het bericht is aan het ticket gekoppeld.",
	"dismissed": "Het bericht is genegeerd.",
}
