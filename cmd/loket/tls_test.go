package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/poraad/loket/config"
	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/internal/mailtest"
)

// countingHandler is an intake.Handler that only counts.
type countingHandler struct {
	mu sync.Mutex
	n  int
}

func (h *countingHandler) Cursor(context.Context, string) (intake.Cursor, error) {
	return intake.Cursor{}, nil
}

func (h *countingHandler) Handle(context.Context, intake.Fetched) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	return nil
}

// TestTLSInsecureSkipVerify: an IMAP server with a self-signed certificate
// is refused (the certificate is verified, before any password is sent)
// unless the mailbox says tls_insecure_skip_verify = true, from the
// config file through optionsFromConfig to the poller; the key defaults
// to false, for the mailbox and for [smtp].
func TestTLSInsecureSkipVerify(t *testing.T) {
	for _, mode := range []string{"tls", "starttls"} {
		srv, err := mailtest.StartIMAPWith(mailtest.IMAPOptions{Users: map[string]string{"desk": "geheim-wachtwoord"}, TLS: mode})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		if err := srv.Append("desk", "INBOX", []byte("From: a@b.example\r\nSubject: x\r\nMessage-ID: <x@b.example>\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
		for _, skip := range []string{"", "tls_insecure_skip_verify = false", "tls_insecure_skip_verify = true"} {
			name := mode + " default"
			if skip != "" {
				name = mode + " " + strings.TrimPrefix(skip, "tls_insecure_skip_verify = ")
			}
			t.Run(name, func(t *testing.T) {
				t.Setenv("LOKET_TEST_PW", "geheim-wachtwoord")
				t.Setenv("LOKET_TEST_TOKEN", "api-token-0123456789abcdef")
				cfg, err := config.Parse(fmt.Appendf(nil, `[storage]
path = "/var/lib/loket/loket.db"
[tickets]
prefix = "PO"
[web]
listen = "127.0.0.1:8080"
[api]
token_env = "LOKET_TEST_TOKEN"
[smtp]
host = "smtp.example.org"
port = 587
%s
[[mailbox]]
name = "ondersteuning"
address = "ondersteuning@example.org"
host = "127.0.0.1"
port = %d
tls = %q
username = "desk"
password_env = "LOKET_TEST_PW"
%s
`, skip, srv.Port(), mode, skip), "loket.toml")
				if err != nil {
					t.Fatal(err)
				}
				o, err := optionsFromConfig(cfg)
				if err != nil {
					t.Fatal(err)
				}
				insecure := strings.HasSuffix(skip, "true")
				if got := o.SMTP.TLSConfig != nil && o.SMTP.TLSConfig.InsecureSkipVerify; got != insecure {
					t.Errorf("smtp: InsecureSkipVerify %v, want %v", got, insecure)
				}
				h := &countingHandler{}
				mc := o.Mailboxes[0].MailboxConfig
				mc.DialTimeout, mc.CommandTimeout = 5*time.Second, 5*time.Second
				p := intake.NewPoller(mc, h, slog.New(slog.DiscardHandler))
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- p.Run(ctx) }()
				deadline := time.Now().Add(10 * time.Second)
				for st := p.Status(); st.LastPoll.IsZero() && st.LastError == ""; st = p.Status() {
					if time.Now().After(deadline) {
						t.Fatal("neither a pass nor an error within 10s")
					}
					time.Sleep(10 * time.Millisecond)
				}
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
				st := p.Status()
				h.mu.Lock()
				n := h.n
				h.mu.Unlock()
				if insecure {
					if st.LastPoll.IsZero() || n != 1 {
						t.Errorf("with the key: pass %v, %d handled, error %q", st.LastPoll, n, st.LastError)
					}
				} else if !strings.Contains(st.LastError, "certificate") || n != 0 {
					t.Errorf("without the key: error %q, %d handled; want the certificate refused", st.LastError, n)
				}
			})
		}
	}
}
