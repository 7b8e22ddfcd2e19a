package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/templates"
	"github.com/poraad/loket/workflow"
)

// opsEnv is a store with a Service feeding the metrics, and pollers that
// never run (their status is what the test sets... or the zero status).
type opsEnv struct {
	st      *workflow.Store
	svc     *workflow.Service
	mx      *metrics
	pollers map[string]*intake.Poller
	srv     *httptest.Server
	ready   *readiness
	logs    *bytes.Buffer
}

func newOpsEnv(t *testing.T) *opsEnv {
	t.Helper()
	st, err := workflow.Open(filepath.Join(t.TempDir(), "loket.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tmpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	own := []string{"ondersteuningpassendonderwijs@poraad.nl", "praktijktoets@ondersteuningpassendonderwijs.nl"}
	cl, err := intake.NewClassifier(intake.ClassifierConfig{Prefix: "PO", OwnAddresses: own})
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	e := &opsEnv{st: st, mx: newMetrics(), logs: logs, pollers: map[string]*intake.Poller{}}
	e.svc = &workflow.Service{Store: st, Classifier: cl, Observed: e.mx.observe,
		Log: slog.New(slog.NewJSONHandler(logs, nil)),
		Policy: &workflow.Policy{Prefix: "PO", Templates: tmpl, Confirm: true, OwnAddresses: own, Mailboxes: map[string]workflow.MailboxInfo{
			"ondersteuning": {Name: "ondersteuning", Address: own[0], DisplayName: "Ondersteuning"},
			"praktijktoets": {Name: "praktijktoets", Address: own[1], DisplayName: "Praktijktoets", Prior: intake.TypePraktijktoets},
		}}}
	o := Options{}
	for _, name := range []string{"ondersteuning", "praktijktoets"} {
		mc := intake.MailboxConfig{Name: name, Host: "127.0.0.1", Port: 1, TLS: "none", PollInterval: time.Minute}
		e.pollers[name] = intake.NewPoller(mc, e.svc, slog.New(slog.DiscardHandler))
		o.Mailboxes = append(o.Mailboxes, Mailbox{MailboxConfig: mc})
	}
	e.ready = newOps(e.mx, st, e.pollers, o)
	e.srv = httptest.NewServer(withOps(http.NotFoundHandler(), e.mx.handler(slog.New(slog.DiscardHandler)), e.ready))
	t.Cleanup(e.srv.Close)
	return e
}

// ingest hands the demo mail files to the Service as a poller would.
func (e *opsEnv) ingest(t *testing.T, mailbox string, files ...string) {
	t.Helper()
	for i, f := range files {
		raw, err := os.ReadFile(filepath.Join("..", "..", "cmd", "loket", "demodata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Handle(context.Background(), intake.Fetched{Mailbox: mailbox, UIDValidity: 1, UID: uint32(i + 1), Raw: raw, Size: int64(len(raw))}); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *opsEnv) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestMetricsAfterIngest(t *testing.T) {
	e := newOpsEnv(t)
	e.ingest(t, "ondersteuning", "ondersteuning-01-clinic.eml", "ondersteuning-03-opr.eml", "ondersteuning-06-out-of-office.eml")
	e.ingest(t, "praktijktoets", "praktijktoets-01-aanmelding.eml")
	// Handled again (UID at the cursor): not counted twice.
	e.ingest(t, "praktijktoets", "praktijktoets-01-aanmelding.eml")

	status, body := e.get(t, "/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", status, body)
	}
	for _, want := range []string{
		`loket_messages_fetched_total{kind="new",mailbox="ondersteuning",type="clinic"} 1`,
		`loket_messages_fetched_total{kind="new",mailbox="ondersteuning",type="ondersteuningsplanraad"} 1`,
		`loket_messages_fetched_total{kind="auto-reply",mailbox="ondersteuning",type=""} 1`,
		`loket_messages_fetched_total{kind="new",mailbox="praktijktoets",type="praktijktoets"} 1`,
		`loket_tickets{state="acknowledged"} 2`,
		`loket_tickets{state="referred"} 1`,
		`loket_outbox_entries{status="queued"} 3`,
		`loket_outbox_entries{status="sent"} 0`,
		`loket_outbox_entries{status="failed"} 0`,
		`loket_imap_connected{mailbox="ondersteuning"} 0`,
		`loket_imap_last_success_timestamp_seconds{mailbox="praktijktoets"} 0`,
		`loket_imap_consecutive_failures{mailbox="praktijktoets"} 0`,
		`loket_timers_pending 0`,
		`loket_store_scrape_errors 0`,
		"# TYPE loket_messages_fetched_total counter",
		"# TYPE loket_outbox_oldest_pending_seconds gauge",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grepLines(body, "loket_"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestHandledMessageLogLine(t *testing.T) {
	e := newOpsEnv(t)
	e.ingest(t, "ondersteuning", "ondersteuning-01-clinic.eml")
	var line struct {
		Level     string `json:"level"`
		Msg       string `json:"msg"`
		MessageID string `json:"message_id"`
		Kind      string `json:"kind"`
		Type      string `json:"type"`
		Ticket    string `json:"ticket"`
		Mailbox   string `json:"mailbox"`
	}
	lines := strings.Split(strings.TrimSpace(e.logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one log line per handled message, got %d:\n%s", len(lines), e.logs)
	}
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	if line.Level != "INFO" || line.Msg != "message handled" || line.MessageID == "" || line.Kind != "new" ||
		line.Type != "clinic" || !strings.HasPrefix(line.Ticket, "PO-") || line.Mailbox != "ondersteuning" {
		t.Errorf("log line %+v", line)
	}
}
