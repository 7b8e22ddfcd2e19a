package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/internal/mailtest"
	"github.com/poraad/loket/workflow"
)

// writeTestConfig writes a config for a Loket on loopback servers.
func writeServeConfig(t *testing.T, dir string, imapPort, smtpPort int, listen, store string) string {
	t.Helper()
	for name, val := range map[string]string{"api.token": "backup-test-token-0123456789", "imap.pass": "pw"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(val), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(`[storage]
path = %q
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
[intake]
poll_interval = "1s"
[[mailbox]]
name = "ondersteuning"
address = "ondersteuningpassendonderwijs@poraad.nl"
host = "127.0.0.1"
port = %d
tls = "none"
username = "ondersteuning"
password_file = "imap.pass"
initial_sync = "import"
`, store, listen, smtpPort, imapPort)
	path := filepath.Join(dir, "loket.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startLoopbackMail starts the in-memory IMAP server with the mailbox
// "ondersteuning" (password "pw") and an SMTP capture server, both closed
// when the test ends: what writeServeConfig points a Loket at.
func startLoopbackMail(t *testing.T) (*mailtest.IMAPServer, *mailtest.SMTPServer) {
	t.Helper()
	imapSrv, err := mailtest.StartIMAP(map[string]string{"ondersteuning": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imapSrv.Close() })
	smtpSrv, err := mailtest.StartSMTP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtpSrv.Close() })
	return imapSrv, smtpSrv
}

// TestBackupWhileServingAndRestore runs `loket serve`, takes a backup
// through the running server while mail comes in, stops it, restores the
// backup into a new store and finds every ticket the backup reported.
func TestBackupWhileServingAndRestore(t *testing.T) {
	imapSrv, smtpSrv := startLoopbackMail(t)
	dir := t.TempDir()
	listen := freeAddr(t)
	cfgPath := writeServeConfig(t, dir, imapSrv.Port(), smtpSrv.Port(), listen, "loket.db")

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- run(ctx, []string{"serve", "--config", cfgPath}, os.Stdout, &strings.Builder{}) }()
	appendN := func(from, n int) {
		for i := from; i < from+n; i++ {
			raw := fmt.Sprintf("From: <a%d@swv.example>\r\nTo: ondersteuningpassendonderwijs@poraad.nl\r\nSubject: Aanvraag clinic\r\nMessage-ID: <bk-%d@swv.example>\r\n\r\nGraag een clinic op maat.\r\n", i, i)
			if err := imapSrv.Append("ondersteuning", "INBOX", []byte(raw)); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendN(0, 20)
	count := func() int {
		req, _ := http.NewRequest("GET", "http://"+listen+"/api/v1/tickets", nil)
		req.Header.Set("Authorization", "Bearer backup-test-token-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		var out struct{ Tickets []json.RawMessage }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return len(out.Tickets)
	}
	deadline := time.Now().Add(20 * time.Second)
	for count() < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("serve made %d tickets of 20", count())
		}
		time.Sleep(100 * time.Millisecond)
	}
	appendN(20, 20) // intake goes on while the backup is taken
	bk := filepath.Join(dir, "backup.db")
	out, _, err := runCmd(t, context.Background(), "backup", "--config", cfgPath, bk)
	if err != nil || !strings.Contains(out, "via the running server") {
		t.Fatalf("backup: %q %v", out, err)
	}
	info, err := workflow.CheckBackup(bk)
	if err != nil || info.Tickets < 20 {
		t.Fatalf("backup check: %+v %v", info, err)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}

	// Restoring over a stopped store keeps the old one beside it.
	out, _, err = runCmd(t, context.Background(), "restore", "--config", cfgPath, bk)
	if err != nil || !strings.Contains(out, "previous store is kept") {
		t.Fatalf("restore: %q %v", out, err)
	}
	st, err := workflow.Open(filepath.Join(dir, "loket.db"))
	if err != nil {
		t.Fatal(err)
	}
	tickets, err := st.Tickets(workflow.Filter{})
	st.Close()
	if err != nil || len(tickets) != info.Tickets {
		t.Fatalf("after restore %d tickets, backup said %d (%v)", len(tickets), info.Tickets, err)
	}
	// Offline backup: serve is not running, so the store is read directly.
	out, _, err = runCmd(t, context.Background(), "backup", "--config", cfgPath, filepath.Join(dir, "offline.db"))
	if err != nil || !strings.Contains(out, "from the store directly") {
		t.Errorf("offline backup: %q %v", out, err)
	}
}
