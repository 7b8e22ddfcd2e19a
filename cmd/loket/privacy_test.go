package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/workflow"
)

const privacyMail = "From: Marloes Duinkerk <m.duinkerk@swv.example>\r\nTo: ondersteuningpassendonderwijs@poraad.nl\r\n" +
	"Subject: Aanvraag clinic\r\nMessage-ID: <privacy-1@swv.example>\r\n\r\nGraag een clinic over leerling Sem de Vries.\r\n"

// TestExportForgetWithoutServer runs `loket export` and `loket forget`
// with no server listening: both fall back to the store.
func TestExportForgetWithoutServer(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "loket.db")
	cfg := writeServeConfig(t, dir, 1143, 1025, freeAddr(t), store) // nothing listens there

	st, err := workflow.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	pol := &workflow.Policy{Prefix: "PO", Mailboxes: map[string]workflow.MailboxInfo{"ondersteuning": {Name: "ondersteuning", Address: "ondersteuningpassendonderwijs@poraad.nl"}}}
	if _, err := st.Ingest(workflow.Inbound{Mailbox: "ondersteuning", Raw: []byte(privacyMail), Msg: intake.Parse([]byte(privacyMail)),
		Class: intake.Classification{Kind: intake.KindNew, Type: intake.TypeClinic}}, pol); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	checkExportForget(t, cfg)
}

// TestExportForgetWhileServing does the same through the running server's
// API: the store is locked by serve, so the fallback could not work.
func TestExportForgetWhileServing(t *testing.T) {
	imapSrv, smtpSrv := startLoopbackMail(t)
	dir := t.TempDir()
	listen := freeAddr(t)
	cfg := writeServeConfig(t, dir, imapSrv.Port(), smtpSrv.Port(), listen, "loket.db")
	if err := imapSrv.Append("ondersteuning", "INBOX", []byte(privacyMail)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- run(ctx, []string{"serve", "--config", cfg}, os.Stdout, &strings.Builder{}) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "http://"+listen+"/api/v1/tickets", nil)
		req.Header.Set("Authorization", "Bearer backup-test-token-0123456789")
		var out struct{ Tickets []json.RawMessage }
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
		}
		if len(out.Tickets) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve made no ticket")
		}
		time.Sleep(50 * time.Millisecond)
	}
	checkExportForget(t, cfg)
}

func checkExportForget(t *testing.T, cfg string) {
	t.Helper()
	ctx := context.Background()
	out, _, err := runCmd(t, ctx, "export", "--config", cfg, "--address", "M.Duinkerk@swv.example")
	if err != nil {
		t.Fatal(err)
	}
	var ex workflow.Export
	if err := json.Unmarshal([]byte(out), &ex); err != nil {
		t.Fatalf("export output: %v\n%s", err, out)
	}
	if len(ex.Tickets) != 1 || !strings.Contains(ex.Tickets[0].Messages[0].Message.Text, "leerling Sem de Vries") {
		t.Fatalf("export %s", out)
	}
	ref := ex.Tickets[0].Ticket.Ref

	if _, _, err := runCmd(t, ctx, "forget", "--config", cfg, "--address", "m.duinkerk@swv.example"); err == nil || !strings.Contains(err.Error(), ref) {
		t.Errorf("forget of an open ticket without --force: %v", err)
	}
	out, _, err = runCmd(t, ctx, "forget", "--config", cfg, "--address", "m.duinkerk@swv.example", "--force")
	if err != nil || !strings.Contains(out, "1 ticket(s) ("+ref+")") {
		t.Fatalf("forget --force: %q %v", out, err)
	}
	out, _, err = runCmd(t, ctx, "export", "--config", cfg, "--address", "m.duinkerk@swv.example")
	if err != nil || strings.Contains(out, "Sem") || strings.Contains(out, "Duinkerk") {
		t.Errorf("export after forget: %v\n%s", err, out)
	}
	if _, _, err := runCmd(t, ctx, "export", "--config", cfg); exitCode(err) != 2 {
		t.Errorf("export without --address: %v", err)
	}
}
