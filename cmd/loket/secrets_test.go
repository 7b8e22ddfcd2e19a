package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/internal/mailtest"
)

// TestSecretsNeverShown runs `loket serve` with known secrets for both IMAP
// mailboxes, SMTP and the API, at log level debug, through a failing IMAP
// login (wrong password, over TLS with a self-signed certificate accepted
// by tls_insecure_skip_verify), an SMTP server (STARTTLS, self-signed,
// accepted the same way) taking the AUTH and refusing the mail, /healthz,
// the API with a wrong and a right token, and check-config on the file and
// on a broken copy of it. No secret may appear in any of that output, not
// even as the base64 of an AUTH PLAIN. The unverified certificate is
// warned about at start, for the mailbox and for SMTP.
func TestSecretsNeverShown(t *testing.T) {
	secrets := map[string]string{
		"LOKET_TEST_IMAP_A": "imap-geheim-fout-7f3a9c51",   // wrong for mailbox ondersteuning
		"LOKET_TEST_IMAP_B": "imap-geheim-goed-4b8e2160",   // right for mailbox praktijktoets
		"LOKET_TEST_SMTP":   "smtp-geheim-5d2c77e1a9",      // SMTP AUTH
		"LOKET_TEST_TOKEN":  "api-token-geheim-9a8b7c6d5e", // the API's bearer token
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	imapA, err := mailtest.StartIMAPWith(mailtest.IMAPOptions{Users: map[string]string{"ondersteuning": "het-goede-wachtwoord"}, TLS: "tls"})
	if err != nil {
		t.Fatal(err)
	}
	defer imapA.Close()
	imapB, err := mailtest.StartIMAP(map[string]string{"praktijktoets": secrets["LOKET_TEST_IMAP_B"]})
	if err != nil {
		t.Fatal(err)
	}
	defer imapB.Close()
	smtpSrv, _, err := mailtest.StartSMTPTLS() // self-signed: accepted by tls_insecure_skip_verify
	if err != nil {
		t.Fatal(err)
	}
	defer smtpSrv.Close()
	smtpSrv.SetFailing(errors.New("mailbox tijdelijk niet beschikbaar"))

	dir := t.TempDir()
	listen := freeAddr(t)
	cfg := fmt.Sprintf(`[storage]
path = %q

[tickets]
prefix = "PO"

[web]
listen = %q

[api]
token_env = "LOKET_TEST_TOKEN"

[smtp]
host = "127.0.0.1"
port = %d
tls = "starttls"
tls_insecure_skip_verify = true
username = "loket"
password_env = "LOKET_TEST_SMTP"
retry_base = "1s"

[log]
level = "debug"

[intake]
poll_interval = "1s"

[[mailbox]]
name = "ondersteuning"
address = "ondersteuningpassendonderwijs@poraad.nl"
host = "127.0.0.1"
port = %d
tls = "tls"
tls_insecure_skip_verify = true
username = "ondersteuning"
password_env = "LOKET_TEST_IMAP_A"
initial_sync = "import"

[[mailbox]]
name = "praktijktoets"
address = "praktijktoets@ondersteuningpassendonderwijs.nl"
host = "127.0.0.1"
port = %d
tls = "none"
username = "praktijktoets"
password_env = "LOKET_TEST_IMAP_B"
initial_sync = "import"
type_prior = "praktijktoets"
`, filepath.Join(dir, "loket.db"), listen, smtpSrv.Port(), imapA.Port(), imapB.Port())
	path := filepath.Join(dir, "loket.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	var seen strings.Builder // everything a person or a log collector could see
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", path}, io.Discard, logs) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	}()

	waitFor := func(what string, cond func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond(logs.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; log:\n%s", what, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("the failed IMAP login", func(s string) bool {
		return strings.Contains(s, "mailbox=ondersteuning") && strings.Contains(strings.ToLower(s), "login")
	})
	// A request arrives once the mailbox is being watched (mail found at
	// the first start is imported without confirmation).
	waitFor("the praktijktoets mailbox connected", func(s string) bool {
		return strings.Contains(s, `msg="imap: connected" component=poller mailbox=praktijktoets`)
	})
	time.Sleep(300 * time.Millisecond)
	if err := imapB.Append("praktijktoets", "INBOX", []byte("From: Marloes <m@swv.example>\r\nTo: praktijktoets@ondersteuningpassendonderwijs.nl\r\n"+
		"Subject: Aanmelding praktijktoets\r\nMessage-ID: <pt-1@swv.example>\r\nDate: Mon, 02 Mar 2026 09:00:00 +0100\r\n\r\nGraag een praktijktoets.\r\n")); err != nil {
		t.Fatal(err)
	}
	waitFor("the refused mail", func(s string) bool {
		return strings.Contains(s, "mail not sent") && strings.Contains(s, "tijdelijk niet beschikbaar") // after AUTH: the password was sent
	})

	get := func(path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+listen+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Fprintf(&seen, "GET %s → %d %v\n%s\n", path, resp.StatusCode, resp.Header, b)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "ondersteuning") {
		t.Errorf("/healthz: %d %s (want 503 naming the failing mailbox)", code, body)
	}
	if code, _ := get("/api/v1/tickets", "api-token-geheim-9a8b7c6d5f"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", code)
	}
	if code, _ := get("/api/v1/tickets", secrets["LOKET_TEST_TOKEN"]); code != http.StatusOK {
		t.Errorf("right token: %d", code)
	}
	get("/api/v1/outbox?pending=1", secrets["LOKET_TEST_TOKEN"])
	get("/metrics", "")

	out, errOut, err := runCmd(t, context.Background(), "check-config", "--config", path)
	fmt.Fprintf(&seen, "check-config: %s %s %v\n", out, errOut, err)
	if err != nil {
		t.Errorf("check-config: %v", err)
	}
	broken := strings.Replace(cfg, `tls = "none"`, `tls = "ssl"`, 1)
	broken = strings.Replace(broken, `listen = "`, `listen = "nergens`, 1)
	if err := os.WriteFile(path+".kapot", []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = runCmd(t, context.Background(), "check-config", "--config", path+".kapot")
	fmt.Fprintf(&seen, "check-config (broken): %s %s %v\n", out, errOut, err)
	if err == nil {
		t.Error("check-config accepted a broken file")
	}

	cancel()
	<-done
	done <- nil // the deferred stop finds it stopped
	seen.WriteString(logs.String())
	all := seen.String()
	for _, what := range []string{"IMAP server is not verified (tls_insecure_skip_verify = true)\" mailbox=ondersteuning", "SMTP server is not verified"} {
		if !strings.Contains(all, what) {
			t.Errorf("no warning at start: %s", what)
		}
	}
	for name, s := range secrets {
		plain := base64.StdEncoding.EncodeToString([]byte("\x00loket\x00" + s))
		for _, form := range []string{s, plain, base64.StdEncoding.EncodeToString([]byte(s))} {
			if i := strings.Index(all, form); i >= 0 {
				t.Errorf("secret %s appears in the output: …%s…", name, all[max(0, i-200):min(len(all), i+len(form)+50)])
			}
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output:\n%s", all)
	}
}
