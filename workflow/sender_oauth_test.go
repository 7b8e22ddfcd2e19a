package workflow

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/internal/mailtest"
)

const testSMTPClientSecret = "smtp-client-secret-not-real-4b1d"

// oauthSender returns a Sender that signs in with XOAUTH2 and a token from
// a local token endpoint (Microsoft's client-credentials flow), and the
// names the alerting hooks were called with.
func oauthSender(t *testing.T, st *Store, srv *mailtest.SMTPServer) (*Sender, *mailtest.TokenEndpoint, *tokenHooks) {
	t.Helper()
	e := mailtest.StartTokenEndpoint(url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"loket-app"},
		"client_secret": {testSMTPClientSecret},
		"scope":         {intake.MicrosoftScope},
	})
	t.Cleanup(func() {
		e.Close()
		for _, p := range e.Problems() {
			t.Errorf("token endpoint: %s", p)
		}
	})
	ts, err := intake.NewTokenSource(intake.OAuth2Config{Provider: intake.ProviderMicrosoft, Tenant: "poraad.nl",
		ClientID: "loket-app", ClientSecret: testSMTPClientSecret, TokenURL: e.URL(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hooks := &tokenHooks{}
	s := NewSender(st, SMTPConfig{Host: "127.0.0.1", Port: srv.Port(), TLS: "none", Timeout: 5 * time.Second,
		Username: "ondersteuningpassendonderwijs@poraad.nl", TokenSource: ts,
		OnTokenError: hooks.onError, OnTokenOK: hooks.onOK,
		RetryBase: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, MaxAttempts: 4}, quietLog())
	return s, e, hooks
}

type tokenHooks struct {
	mu          sync.Mutex
	errors, oks []string
}

func (h *tokenHooks) onError(name string, err error) {
	h.mu.Lock()
	h.errors = append(h.errors, name)
	h.mu.Unlock()
}

func (h *tokenHooks) onOK(name string) {
	h.mu.Lock()
	h.oks = append(h.oks, name)
	h.mu.Unlock()
}

func TestSenderSignsInWithXOAUTH2(t *testing.T) {
	f := newFixture(t)
	f.pol.Now = nil
	f.ingest("praktijktoets", msg("req@swv.example", "a@swv.example", "aanmelding"), newClass(intake.TypePraktijktoets))
	srv := startSMTP(t)
	srv.SetXOAUTH2Token(mailtest.AccessToken(1))
	s, e, hooks := oauthSender(t, f.store, srv)
	if _, err := s.pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("%d messages sent, want 1 (status %+v)", len(got), s.Status())
	}
	if got[0].Mech != mailtest.XOAUTH2 || got[0].Username != "ondersteuningpassendonderwijs@poraad.nl" {
		t.Errorf("signed in with %q as %q, want XOAUTH2 as the configured user", got[0].Mech, got[0].Username)
	}
	// The next connection asks the token source again, which reuses the
	// token while it is far from its expiry.
	f.ingest("ondersteuning", msg("req2@swv.example", "b@swv.example", "Clinic"), newClass(intake.TypeClinic))
	if _, err := s.pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != 2 || e.Calls() != 1 {
		t.Errorf("%d messages after %d token requests, want 2 after 1", n, e.Calls())
	}
	if len(hooks.errors) != 0 || len(hooks.oks) != 1 || hooks.oks[0] != "smtp" {
		t.Errorf("hooks: errors %v, oks %v", hooks.errors, hooks.oks)
	}
}

// A token the server refuses is an ordinary failed attempt, retried later.
func TestSenderXOAUTH2Refused(t *testing.T) {
	f := newFixture(t)
	f.pol.Now = nil
	res := f.ingest("praktijktoets", msg("req@swv.example", "a@swv.example", "aanmelding"), newClass(intake.TypePraktijktoets))
	srv := startSMTP(t)
	srv.SetXOAUTH2Token("another-token")
	s, _, _ := oauthSender(t, f.store, srv)
	if _, err := s.pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages sent with a refused token", n)
	}
	entry, _ := f.store.OutboxEntry(res.OutboxID)
	if entry.Status != OutboxQueued || entry.Attempts != 1 || !strings.Contains(entry.LastError, "535") {
		t.Errorf("entry = %+v, want queued after one attempt refused with 535", entry)
	}
	if strings.Contains(entry.LastError+s.Status().LastError, "access-token-") {
		t.Error("the token appears in the recorded error")
	}
}

// Without a token nothing is attempted: the entries keep their attempts,
// and the alerting hook hears of it.
func TestSenderTokenEndpointDown(t *testing.T) {
	f := newFixture(t)
	f.pol.Now = nil
	res := f.ingest("praktijktoets", msg("req@swv.example", "a@swv.example", "aanmelding"), newClass(intake.TypePraktijktoets))
	srv := startSMTP(t)
	srv.SetXOAUTH2Token(mailtest.AccessToken(1))
	s, e, hooks := oauthSender(t, f.store, srv)
	e.SetFailing(401, `{"error":"unauthorized_client","error_description":"AADSTS700016: Application not found"}`)
	_, err := s.pass(context.Background())
	if err == nil || !strings.Contains(err.Error(), "AADSTS700016") || strings.Contains(err.Error(), testSMTPClientSecret) {
		t.Errorf("pass = %v, want the endpoint's answer without the secret", err)
	}
	if entry, _ := f.store.OutboxEntry(res.OutboxID); entry.Attempts != 0 {
		t.Errorf("entry = %+v, want no attempt used", entry)
	}
	if len(hooks.errors) != 1 || hooks.errors[0] != "smtp" {
		t.Errorf("error hook calls %v, want one for smtp", hooks.errors)
	}
	e.SetFailing(0, "")
	if _, err := s.pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != 1 || len(hooks.oks) != 1 {
		t.Errorf("after recovery %d messages and ok hooks %v, want 1 and [smtp]", n, hooks.oks)
	}
}
