package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/poraad/loket/workflow"
)

const (
	sessionCookie = "loket_sessie"
	loginCookie   = "loket_login" // double-submit CSRF token of the login form
)

// Login throttling: failed attempts per address and per client address in
// a sliding window. An office behind one NAT address shares the per-IP
// budget, so it is larger.
const (
	throttleWindow  = 15 * time.Minute
	maxFailsPerUser = 5
	maxFailsPerIP   = 20
)

type sessionKey struct{}

type reqSession struct {
	sess *workflow.LoginSession
	user *workflow.User
	id   string
}

func sessionFrom(r *http.Request) *reqSession {
	s, _ := r.Context().Value(sessionKey{}).(*reqSession)
	return s
}

// auth lets a request through with a live session, else sends the browser
// to the login page. POST requests must carry the session's CSRF token.
func (d *Desk) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		var s *reqSession
		if err == nil {
			sess, user, err := d.o.Store.LoginSessionUser(c.Value, d.o.Now())
			switch {
			case err == nil:
				s = &reqSession{sess: sess, user: user, id: c.Value}
			case !workflow.IsNotFound(err):
				d.fail(w, r, err)
				return
			}
		}
		if s == nil {
			if r.Method != http.MethodGet {
				d.showError(w, r, http.StatusUnauthorized, "Uw sessie is verlopen. Log opnieuw in.")
				return
			}
			next := r.URL.RequestURI()
			target := "/login"
			if next != "/" {
				target += "?terug=" + url.QueryEscape(next)
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				d.showError(w, r, http.StatusBadRequest, "Het formulier kon niet gelezen worden.")
				return
			}
			if !s.sess.CheckCSRF(r.PostForm.Get("csrf")) {
				d.showError(w, r, http.StatusForbidden, "Het formulier is verlopen of komt niet van deze site. Laad de pagina opnieuw en probeer het nog eens.")
				return
			}
		}
		h(w, r)
	})
}

type loginData struct {
	page
	Address string
	Next    string
}

// loginPage shows the login form with a fresh double-submit token.
func (d *Desk) loginPage(w http.ResponseWriter, r *http.Request) {
	d.showLogin(w, r, http.StatusOK, "", "")
}

func (d *Desk) showLogin(w http.ResponseWriter, r *http.Request, status int, address, msg string) {
	tok := randomHex()
	http.SetCookie(w, d.cookie(r, loginCookie, tok, time.Hour))
	data := loginData{page: page{Title: "Inloggen", CSRF: tok, Error: msg}, Address: address, Next: safeNext(r.FormValue("terug"))}
	d.render(w, r, status, "login", data)
}

func (d *Desk) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		d.showLogin(w, r, http.StatusBadRequest, "", "Het formulier kon niet gelezen worden.")
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		d.showLogin(w, r, http.StatusForbidden, "", "Het formulier was verlopen. Probeer het nog eens.")
		return
	}
	addr := strings.ToLower(strings.TrimSpace(r.PostForm.Get("adres")))
	ip := clientIP(r)
	now := d.o.Now()
	if wait := d.throttle.blocked(now, "user:"+addr, "ip:"+ip); wait > 0 {
		d.o.Log.Warn("desk: login throttled", "address", addr, "ip", ip)
		d.showLogin(w, r, http.StatusTooManyRequests, addr,
			fmt.Sprintf("Te veel mislukte pogingen. Probeer het over %d minuten opnieuw.", int(wait.Minutes())+1))
		return
	}
	user, err := d.o.Store.Authenticate(addr, r.PostForm.Get("wachtwoord"))
	if err != nil {
		if !errors.Is(err, workflow.ErrBadLogin) {
			d.fail(w, r, err)
			return
		}
		d.throttle.fail(now, "user:"+addr, "ip:"+ip)
		d.o.Log.Info("desk: login failed", "address", addr, "ip", ip)
		d.showLogin(w, r, http.StatusUnauthorized, addr, "Onbekend adres of verkeerd wachtwoord.")
		return
	}
	id, _, err := d.o.Store.CreateLoginSession(user.Address, d.o.SessionTTL, now)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.throttle.reset("user:" + addr)
	d.o.Log.Info("desk: login", "address", user.Address, "ip", ip)
	http.SetCookie(w, d.cookie(r, sessionCookie, id, d.o.SessionTTL))
	http.SetCookie(w, d.cookie(r, loginCookie, "", -1))
	http.Redirect(w, r, safeNext(r.PostForm.Get("terug")), http.StatusSeeOther)
}

func (d *Desk) logout(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	if err := d.o.Store.DeleteLoginSession(s.id); err != nil {
		d.fail(w, r, err)
		return
	}
	http.SetCookie(w, d.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// cookie makes a desk cookie: HttpOnly, SameSite=Lax, Secure over TLS or
// behind an https base URL. A negative ttl deletes it.
func (d *Desk) cookie(r *http.Request, name, value string, ttl time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: d.secure || r.TLS != nil}
	if ttl < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(ttl.Seconds())
	}
	return c
}

// safeNext returns a local path to go to after login, or "/".
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

// clientIP is the peer's address; behind a reverse proxy on the same host
// (the set-up config.example.toml advises) it is the last address the
// proxy put in X-Forwarded-For.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if p := strings.TrimSpace(parts[len(parts)-1]); net.ParseIP(p) != nil {
				return p
			}
		}
	}
	return host
}

func randomHex() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// throttle counts failed logins per key in a sliding window, in memory.
type throttle struct {
	mu    sync.Mutex
	fails map[string][]time.Time
}

func newThrottle() *throttle { return &throttle{fails: map[string][]time.Time{}} }

func limitFor(key string) int {
	if strings.HasPrefix(key, "ip:") {
		return maxFailsPerIP
	}
	return maxFailsPerUser
}

// blocked returns how long until the first of keys that is over its limit
// may try again, or 0.
func (t *throttle) blocked(now time.Time, keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		recent := t.recent(now, k)
		if n := limitFor(k); len(recent) >= n {
			wait = max(wait, recent[len(recent)-n].Add(throttleWindow).Sub(now))
		}
	}
	return wait
}

func (t *throttle) fail(now time.Time, keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fails) > 10000 {
		for k := range t.fails {
			if len(t.recent(now, k)) == 0 {
				delete(t.fails, k)
			}
		}
	}
	for _, k := range keys {
		t.fails[k] = append(t.recent(now, k), now)
	}
}

func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, key)
}

// recent drops the failures of key older than the window and returns the
// rest; the caller holds the lock.
func (t *throttle) recent(now time.Time, key string) []time.Time {
	list := t.fails[key]
	i := 0
	for i < len(list) && now.Sub(list[i]) >= throttleWindow {
		i++
	}
	list = list[i:]
	if len(list) == 0 {
		delete(t.fails, key)
		return nil
	}
	t.fails[key] = list
	return list
}
