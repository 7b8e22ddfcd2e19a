package intake

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/poraad/loket/internal/mailtest"
	"golang.org/x/oauth2"
)

// Fake secrets; tests check that they never show up in errors or logs.
const (
	testClientSecret = "client-secret-not-real-7f3a"
	testRefreshToken = "refresh-token-not-real-91c2"
)

func microsoftForm() url.Values {
	return url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"loket-app"},
		"client_secret": {testClientSecret},
		"scope":         {MicrosoftScope},
	}
}

func startTokenEndpoint(t *testing.T, form url.Values) *mailtest.TokenEndpoint {
	t.Helper()
	e := mailtest.StartTokenEndpoint(form)
	t.Cleanup(func() {
		e.Close()
		for _, p := range e.Problems() {
			t.Errorf("token endpoint: %s", p)
		}
	})
	return e
}

func microsoftTokens(t *testing.T, e *mailtest.TokenEndpoint, refreshBefore time.Duration) oauth2.TokenSource {
	t.Helper()
	ts, err := NewTokenSource(OAuth2Config{
		Provider: ProviderMicrosoft, Tenant: "poraad.nl",
		ClientID: "loket-app", ClientSecret: testClientSecret,
		TokenURL: e.URL(), Timeout: 5 * time.Second, RefreshBefore: refreshBefore,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func mustToken(t *testing.T, ts oauth2.TokenSource) *oauth2.Token {
	t.Helper()
	tok, err := ts.Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	return tok
}

// The client-credentials form goes out once; the token is reused while
// it is far from its expiry.
func TestTokenSourceMicrosoftReusesToken(t *testing.T) {
	e := startTokenEndpoint(t, microsoftForm())
	ts := microsoftTokens(t, e, 0)
	for range 3 {
		tok := mustToken(t, ts)
		if tok.AccessToken != mailtest.AccessToken(1) || tok.Type() != "Bearer" {
			t.Errorf("token %q of type %q", tok.AccessToken, tok.Type())
		}
	}
	if n := e.Calls(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

// A token is renewed RefreshBefore its expiry, while it would still work.
func TestTokenSourceRefreshesBeforeExpiry(t *testing.T) {
	e := startTokenEndpoint(t, microsoftForm())
	e.SetExpiresIn(60)
	ts := microsoftTokens(t, e, 60*time.Second-300*time.Millisecond) // renewed 0.3s after issue
	first := mustToken(t, ts)
	if again := mustToken(t, ts); again.AccessToken != first.AccessToken || e.Calls() != 1 {
		t.Fatalf("second Token within 0.3s: %q after %d requests, want the first token after 1", again.AccessToken, e.Calls())
	}
	time.Sleep(400 * time.Millisecond)
	second := mustToken(t, ts)
	if second.AccessToken != mailtest.AccessToken(2) || e.Calls() != 2 {
		t.Errorf("Token after 0.4s = %q after %d requests, want a new token after 2", second.AccessToken, e.Calls())
	}
	if left := time.Until(first.Expiry); left < 50*time.Second {
		t.Errorf("renewed when the old token had %v left, want well before its expiry", left)
	}
}

// Google: the refresh-token form, with the client's credentials.
func TestTokenSourceGoogleRefreshToken(t *testing.T) {
	e := startTokenEndpoint(t, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {testRefreshToken},
		"client_id":     {"loket.apps.googleusercontent.com"},
		"client_secret": {testClientSecret},
	})
	e.SetExpiresIn(60)
	ts, err := NewTokenSource(OAuth2Config{
		Provider: ProviderGoogle, ClientID: "loket.apps.googleusercontent.com",
		ClientSecret: testClientSecret, RefreshToken: testRefreshToken,
		TokenURL: e.URL(), RefreshBefore: 60*time.Second - 200*time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if tok := mustToken(t, ts); tok.AccessToken != mailtest.AccessToken(1) {
		t.Errorf("first token %q", tok.AccessToken)
	}
	mustToken(t, ts)
	time.Sleep(300 * time.Millisecond)
	// The second refresh still sends the refresh token (the endpoint sent
	// no new one).
	if tok := mustToken(t, ts); tok.AccessToken != mailtest.AccessToken(2) || e.Calls() != 2 {
		t.Errorf("token after expiry window %q after %d requests", tok.AccessToken, e.Calls())
	}
}

func TestNewTokenSourceRefusesIncompleteConfig(t *testing.T) {
	for _, c := range []OAuth2Config{
		{Provider: "yahoo", ClientID: "a", ClientSecret: "b"},
		{Provider: ProviderMicrosoft, ClientID: "a", ClientSecret: "b"}, // no tenant
		{Provider: ProviderMicrosoft, Tenant: "t", ClientSecret: "b"},
		{Provider: ProviderMicrosoft, Tenant: "t", ClientID: "a"},
		{Provider: ProviderGoogle, ClientID: "a", ClientSecret: "b"}, // no refresh token
	} {
		if _, err := NewTokenSource(c); err == nil {
			t.Errorf("NewTokenSource(%+v) = nil error", c)
		}
	}
}

// A refused token request says what the endpoint said, without the secret
// (even when the endpoint repeats it) and without Microsoft's trace lines.
func TestTokenErrorHoldsNoSecret(t *testing.T) {
	e := startTokenEndpoint(t, microsoftForm())
	e.SetFailing(401, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided: `+
		testClientSecret+`\r\nTrace ID: 0d1e\r\nCorrelation ID: 77aa"}`)
	_, err := microsoftTokens(t, e, 0).Token()
	var te *TokenError
	if !errors.As(err, &te) {
		t.Fatalf("Token error %T %v, want *TokenError", err, err)
	}
	text := err.Error()
	for _, want := range []string{e.URL(), "invalid_client", "AADSTS7000215"} {
		if !strings.Contains(text, want) {
			t.Errorf("error %q does not say %q", text, want)
		}
	}
	if strings.Contains(text, testClientSecret) || strings.Contains(text, "Trace ID") {
		t.Errorf("error %q holds the secret or the trace lines", text)
	}

	// The endpoint is gone altogether.
	e.Close()
	_, err = microsoftTokens(t, e, 0).Token()
	if err == nil || !strings.Contains(err.Error(), "get OAuth2 token from "+e.URL()) || strings.Contains(err.Error(), testClientSecret) {
		t.Errorf("Token with the endpoint down = %v", err)
	}
}

// hookRecorder records the alerting hooks' calls.
type hookRecorder struct {
	mu     sync.Mutex
	errors []string // mailbox names
	oks    []string
}

func (r *hookRecorder) onError(name string, err error) {
	r.mu.Lock()
	r.errors = append(r.errors, name)
	r.mu.Unlock()
}

func (r *hookRecorder) onOK(name string) {
	r.mu.Lock()
	r.oks = append(r.oks, name)
	r.mu.Unlock()
}

func (r *hookRecorder) counts() (errs, oks int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errors), len(r.oks)
}

// The hooks hear of every failure and of the first token after failures.
func TestWatchTokensCallsHooks(t *testing.T) {
	e := startTokenEndpoint(t, microsoftForm())
	e.SetExpiresIn(1) // always within RefreshBefore: every call asks the endpoint
	var r hookRecorder
	ts := WatchTokens("ondersteuning", microsoftTokens(t, e, 0), r.onError, r.onOK)
	check := func(step string, wantErrs, wantOKs int) {
		t.Helper()
		if errs, oks := r.counts(); errs != wantErrs || oks != wantOKs {
			t.Errorf("%s: %d error and %d ok calls, want %d and %d", step, errs, oks, wantErrs, wantOKs)
		}
	}
	mustToken(t, ts)
	check("first token", 0, 1)
	mustToken(t, ts)
	check("second token", 0, 1)
	e.SetFailing(500, `{"error":"temporarily_unavailable"}`)
	for range 2 {
		if _, err := ts.Token(); err == nil {
			t.Fatal("Token worked against a failing endpoint")
		}
	}
	check("two failures", 2, 1)
	e.SetFailing(0, "")
	mustToken(t, ts)
	mustToken(t, ts)
	check("recovered", 2, 2)
	if r.errors[0] != "ondersteuning" || r.oks[1] != "ondersteuning" {
		t.Errorf("hooks called with %v and %v, want the mailbox name", r.errors, r.oks)
	}
}

func startXOAUTH2IMAP(t *testing.T, token string) *mailtest.IMAPServer {
	t.Helper()
	srv, err := mailtest.StartIMAPWith(mailtest.IMAPOptions{
		Users:   map[string]string{"desk": "password-login-not-used"},
		XOAUTH2: map[string]string{"desk": token},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// The poller signs in with AUTHENTICATE XOAUTH2 and a token from the
// endpoint, and fetches the mailbox.
func TestPollerSignsInWithXOAUTH2(t *testing.T) {
	e := startTokenEndpoint(t, microsoftForm())
	srv := startXOAUTH2IMAP(t, mailtest.AccessToken(1))
	if err := srv.Append("desk", "INBOX", testMessage(1)); err != nil {
		t.Fatal(err)
	}
	var r hookRecorder
	cfg := configFor(srv, "desk", "")
	cfg.TokenSource = microsoftTokens(t, e, 0)
	cfg.OnTokenError, cfg.OnTokenOK = r.onError, r.onOK
	h := newTestHandler()
	p := newTestPoller(t, cfg, h)
	run(t, p)

	got := h.waitFor(t, 1, 5*time.Second)
	if !bytes.Equal(got[0].Raw, testMessage(1)) {
		t.Errorf("fetched %q", got[0].Raw)
	}
	if accepted, refused := srv.XOAUTH2Logins(); accepted != 1 || refused != 0 {
		t.Errorf("server: %d XOAUTH2 logins accepted, %d refused; want 1 and 0", accepted, refused)
	}
	if errs, oks := r.counts(); errs != 0 || oks != 1 || r.oks[0] != "aanvragen" {
		t.Errorf("hooks: %d errors, oks %v", errs, r.oks)
	}
	if st := p.Status(); !st.Connected || st.LastError != "" {
		t.Errorf("Status = %+v", st)
	}
}

// A token the server refuses ends the session with the server's answer,
// and the poller backs off and tries again; the token is not logged.
func TestPollerXOAUTH2WrongToken(t *testing.T) {
	e := startTokenEndpoint(t, microsoftForm())
	srv := startXOAUTH2IMAP(t, "the-only-good-token")
	if err := srv.Append("desk", "INBOX", testMessage(1)); err != nil {
		t.Fatal(err)
	}
	cfg := configFor(srv, "desk", "")
	cfg.TokenSource = microsoftTokens(t, e, 0)
	h := newTestHandler()
	log, logs := testLogger(t)
	p := NewPoller(cfg, h, log)
	p.backoffMin, p.backoffMax = 20*time.Millisecond, 100*time.Millisecond
	run(t, p)

	waitUntil(t, 5*time.Second, "two refused logins", func() bool {
		_, refused := srv.XOAUTH2Logins()
		return refused >= 2
	})
	st := p.Status()
	if st.Connected || !strings.Contains(st.LastError, "AUTHENTICATE XOAUTH2") || !strings.Contains(st.LastError, `"status":"401"`) {
		t.Errorf("Status = %+v, want a refused AUTHENTICATE XOAUTH2 with the server's answer", st)
	}
	if n := len(h.fetched()); n != 0 {
		t.Errorf("%d messages fetched with a refused token", n)
	}
	if out := logs.String() + st.LastError; strings.Contains(out, "access-token-") || strings.Contains(out, testClientSecret) {
		t.Error("the token or the client secret appears in the log or the status")
	}
	if n := e.Calls(); n != 1 {
		t.Errorf("%d token requests, want 1: the token is reused across logins until it is near its expiry", n)
	}
}

// When no token can be got the session fails before it signs in, and the
// alerting hook hears of it.
func TestPollerTokenEndpointDown(t *testing.T) {
	e := startTokenEndpoint(t, microsoftForm())
	e.SetFailing(400, `{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys are expired."}`)
	srv := startXOAUTH2IMAP(t, mailtest.AccessToken(1))
	var r hookRecorder
	cfg := configFor(srv, "desk", "")
	cfg.TokenSource = microsoftTokens(t, e, 0)
	cfg.OnTokenError, cfg.OnTokenOK = r.onError, r.onOK
	p := newTestPoller(t, cfg, newTestHandler())
	run(t, p)

	waitUntil(t, 5*time.Second, "two token errors", func() bool { errs, _ := r.counts(); return errs >= 2 })
	if st := p.Status(); !strings.Contains(st.LastError, "AADSTS7000222") || strings.Contains(st.LastError, testClientSecret) {
		t.Errorf("Status.LastError = %q", st.LastError)
	}
	if accepted, refused := srv.XOAUTH2Logins(); accepted+refused != 0 {
		t.Errorf("the server saw %d XOAUTH2 attempts without a token", accepted+refused)
	}
	// The endpoint comes back: the poller signs in and the hook hears so.
	e.SetFailing(0, "")
	waitUntil(t, 5*time.Second, "the recovery hook", func() bool { _, oks := r.counts(); return oks == 1 })
	waitUntil(t, 5*time.Second, "a connection", func() bool { return p.Status().Connected })
}

// A token endpoint that does not answer does not hold up the poller's
// shutdown.
func TestPollerStopsWhileTokenEndpointHangs(t *testing.T) {
	release := make(chan struct{})
	asked := make(chan struct{}, 1)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case asked <- struct{}{}:
		default:
		}
		<-release
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) }) // runs first: frees the handler, then Close
	ts, err := NewTokenSource(OAuth2Config{Provider: ProviderMicrosoft, Tenant: "poraad.nl",
		ClientID: "loket-app", ClientSecret: testClientSecret, TokenURL: hang.URL, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := startXOAUTH2IMAP(t, mailtest.AccessToken(1))
	cfg := configFor(srv, "desk", "")
	cfg.TokenSource = ts
	stop := run(t, newTestPoller(t, cfg, newTestHandler()))
	select {
	case <-asked:
	case <-time.After(5 * time.Second):
		t.Fatal("the poller never asked for a token")
	}
	start := time.Now()
	stop() // fails the test unless Run returns within 5s
	if d := time.Since(start); d > time.Second {
		t.Errorf("Run took %v to return after cancel", d)
	}
}
