package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/internal/mailtest"
)

// TestServeWithOAuth2 runs `loket serve` with auth = "oauth2" for the
// mailbox (Microsoft's client credentials) and for SMTP (Google's refresh
// token), each against a token endpoint of its own: the request is fetched
// over AUTHENTICATE XOAUTH2 and its confirmation sent over AUTH XOAUTH2.
func TestServeWithOAuth2(t *testing.T) {
	const user = "ondersteuningpassendonderwijs@poraad.nl"
	imapTokens := mailtest.StartTokenEndpoint(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"imap-app"},
		"client_secret": {"imap-secret-not-real"}, "scope": {"https://outlook.office365.com/.default"},
	})
	defer imapTokens.Close()
	smtpTokens := mailtest.StartTokenEndpoint(url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {"smtp-refresh-not-real"},
		"client_id": {"smtp-app"}, "client_secret": {"smtp-secret-not-real"},
	})
	defer smtpTokens.Close()
	imapSrv, err := mailtest.StartIMAPWith(mailtest.IMAPOptions{
		Users:   map[string]string{user: "password-not-used"},
		XOAUTH2: map[string]string{user: mailtest.AccessToken(1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer imapSrv.Close()
	smtpSrv, err := mailtest.StartSMTP()
	if err != nil {
		t.Fatal(err)
	}
	defer smtpSrv.Close()
	smtpSrv.SetXOAUTH2Token(mailtest.AccessToken(1))

	dir := t.TempDir()
	for name, val := range map[string]string{"api.token": "oauth-test-token-0123456789",
		"imap.secret": "imap-secret-not-real", "smtp.secret": "smtp-secret-not-real", "smtp.refresh": "smtp-refresh-not-real"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(val+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(`[storage]
path = "loket.db"
[tickets]
prefix = "PO"
[web]
listen = %q
[api]
token_file = "api.token"
[smtp]
host = "127.0.0.1"
port = %d
tls = "none"
username = %q
auth = "oauth2"
[smtp.oauth2]
provider = "google"
client_id = "smtp-app"
client_secret_file = "smtp.secret"
refresh_token_file = "smtp.refresh"
token_url = %q
[intake]
poll_interval = "1s"
[[mailbox]]
name = "ondersteuning"
address = %q
host = "127.0.0.1"
port = %d
tls = "none"
username = %q
auth = "oauth2"
initial_sync = "import"
[mailbox.oauth2]
provider = "microsoft"
tenant = "poraad.nl"
client_id = "imap-app"
client_secret_file = "imap.secret"
token_url = %q
`, freeAddr(t), smtpSrv.Port(), user, smtpTokens.URL(), user, imapSrv.Port(), user, imapTokens.URL())
	cfgPath := filepath.Join(dir, "loket.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	raw := "From: <ib@swv.example>\r\nTo: " + user + "\r\nSubject: Aanvraag clinic\r\nMessage-ID: <oauth-1@swv.example>\r\n\r\nGraag een clinic op maat.\r\n"
	if err := imapSrv.Append(user, "INBOX", []byte(raw)); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var logs strings.Builder
	served := make(chan error, 1)
	go func() { served <- run(ctx, []string{"serve", "--config", cfgPath}, os.Stdout, &logs) }()
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	got, err := smtpSrv.Wait(wctx, 1)
	wcancel()
	cancel()
	if serr := <-served; serr != nil {
		t.Errorf("serve: %v", serr)
	}
	if err != nil {
		t.Fatalf("no confirmation sent: %v\nlog:\n%s", err, logs.String())
	}
	if got[0].Mech != mailtest.XOAUTH2 || got[0].Username != user || got[0].To[0] != "ib@swv.example" {
		t.Errorf("mail to %v sent after AUTH %q as %q", got[0].To, got[0].Mech, got[0].Username)
	}
	if accepted, _ := imapSrv.XOAUTH2Logins(); accepted < 1 {
		t.Error("the IMAP server saw no XOAUTH2 login")
	}
	for _, e := range []*mailtest.TokenEndpoint{imapTokens, smtpTokens} {
		for _, p := range e.Problems() {
			t.Errorf("token endpoint: %s", p)
		}
	}
	for _, s := range []string{"not-real", "access-token-"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the log holds a secret or token (%q)", s)
		}
	}
}
