package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/internal/mailtest"
	"github.com/poraad/loket/workflow"
)

// TestRunServesMetricsAndReadyz runs the whole of Loket against loopback
// IMAP and SMTP servers and reads /metrics and /readyz from its listener.
func TestRunServesMetricsAndReadyz(t *testing.T) {
	imapSrv, err := mailtest.StartIMAP(map[string]string{"ondersteuning": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer imapSrv.Close()
	smtpSrv, err := mailtest.StartSMTP()
	if err != nil {
		t.Fatal(err)
	}
	defer smtpSrv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan string, 1)
	o := Options{
		StorePath: t.TempDir() + "/loket.db", Prefix: "PO", Listen: "127.0.0.1:0", APIToken: "run-test-token-0123456789",
		SMTP:    workflow.SMTPConfig{Host: "127.0.0.1", Port: smtpSrv.Port(), TLS: "none"},
		Confirm: true,
		Mailboxes: []Mailbox{{MailboxConfig: intake.MailboxConfig{Name: "ondersteuning", Address: "ondersteuningpassendonderwijs@poraad.nl",
			Host: "127.0.0.1", Port: imapSrv.Port(), TLS: "none", Username: "ondersteuning", Password: "pw", PollInterval: time.Second}}},
		Alerts:  AlertOptions{Address: "beheer@poraad.nl"},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Started: func(addr string, _ *Running) { started <- addr },
	}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	var addr string
	select {
	case addr = <-started:
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not started")
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	raw := "From: Marloes <m.duinkerk@swv.example>\r\nTo: ondersteuningpassendonderwijs@poraad.nl\r\nSubject: Aanvraag clinic\r\n" +
		"Message-ID: <run-1@swv.example>\r\nDate: Mon, 2 Mar 2026 09:00:00 +0100\r\n\r\nGraag een clinic op maat voor ons team.\r\n"
	// Wait for the first pass, so that the message is new mail.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if status, _ := get("/readyz"); status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			_, body := get("/readyz")
			t.Fatalf("/readyz never 200:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := imapSrv.Append("ondersteuning", "INBOX", []byte(raw)); err != nil {
		t.Fatal(err)
	}
	want := `loket_messages_fetched_total{kind="new",mailbox="ondersteuning",type="clinic"} 1`
	for {
		_, body := get("/metrics")
		if strings.Contains(body, want) && strings.Contains(body, `loket_outbox_entries{status="sent"} 1`) {
			if !strings.Contains(body, `loket_imap_connected{mailbox="ondersteuning"} 1`) {
				t.Errorf("mailbox not connected:\n%s", grepLines(body, "loket_imap"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never showed the message and its confirmation:\n%s", grepLines(body, "loket_"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status, body := get("/readyz"); status != http.StatusOK || !strings.Contains(body, `"ready": true`) {
		t.Errorf("/readyz %d\n%s", status, body)
	}
	// The API and desk are still served beside them.
	if status, _ := get("/healthz"); status != http.StatusOK {
		t.Errorf("/healthz %d", status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
