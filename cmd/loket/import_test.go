package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poraad/loket/internal/mailtest"
	"github.com/poraad/loket/workflow"
)

// TestImportSilent runs `loket import` over a mailbox with a backlog:
// every message becomes a ticket, nothing is queued for mail, and the
// progress line ends "done".
func TestImportSilent(t *testing.T) {
	imapSrv, err := mailtest.StartIMAP(map[string]string{"ondersteuning": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer imapSrv.Close()
	for i := range 12 {
		raw := fmt.Sprintf("From: <a%d@swv.example>\r\nTo: ondersteuningpassendonderwijs@poraad.nl\r\nSubject: Aanvraag clinic\r\nMessage-ID: <imp-%d@swv.example>\r\n\r\nGraag een clinic op maat.\r\n", i, i)
		if err := imapSrv.Append("ondersteuning", "INBOX", []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	cfgPath := writeServeConfig(t, dir, imapSrv.Port(), 1, freeAddr(t), "loket.db")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	silent := strings.Replace(string(cfg), `initial_sync = "import"`, `initial_sync = "import-silent"`, 1)
	if err := os.WriteFile(cfgPath, []byte(silent), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	if err := run(context.Background(), []string{"import", "--config", cfgPath, "--mailbox", "ondersteuning"}, &stdout, &stderr); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr.String())
	}
	t.Logf("stderr: %q", stderr.String())
	if !strings.Contains(stdout.String(), "imported 12 messages") || !strings.Contains(stderr.String(), "done in") {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	st, err := workflow.Open(filepath.Join(dir, "loket.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stats, err := st.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if stats.Tickets != 12 || stats.OutboxPending != 0 {
		t.Errorf("after the import: %d tickets, %d mails pending; want 12 and 0", stats.Tickets, stats.OutboxPending)
	}
	c, _ := st.Cursor("ondersteuning")
	if c.LastUID != 12 || c.BacklogUntil != 12 {
		t.Errorf("cursor %+v", c)
	}
}
