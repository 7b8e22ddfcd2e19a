package workflow

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/internal/mailtest"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startSMTP(t *testing.T) *mailtest.SMTPServer {
	t.Helper()
	srv, err := mailtest.StartSMTP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func testSender(st *Store, srv *mailtest.SMTPServer) *Sender {
	return NewSender(st, SMTPConfig{Host: "127.0.0.1", Port: srv.Port(), TLS: "none", Timeout: 5 * time.Second,
		RetryBase: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, MaxAttempts: 4}, quietLog())
}

func TestSenderDeliversOnceWithFixedHeaders(t *testing.T) {
	f := newFixture(t)
	f.pol.Now = nil
	res := f.ingest("praktijktoets", msg("req@swv.example", "a@swv.example", "aanmelding"), newClass(intake.TypePraktijktoets))
	srv := startSMTP(t)
	s := testSender(f.store, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.pass(ctx); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("%d messages sent, want 1", len(got))
	}
	e, _ := f.store.OutboxEntry(res.OutboxID)
	if e.Status != OutboxSent || e.Attempts != 1 || e.SentAt.IsZero() {
		t.Errorf("entry after send = %+v", e)
	}
	stored, _ := f.store.Raw(e.MessageSeq)
	if string(got[0].Data) != string(stored) && !strings.Contains(string(got[0].Data), "Message-ID: <"+e.MessageID+">") {
		t.Errorf("sent message differs from the stored one")
	}
	if got[0].To[0] != "a@swv.example" || got[0].From != "praktijktoets@ondersteuningpassendonderwijs.nl" {
		t.Errorf("envelope %s -> %v", got[0].From, got[0].To)
	}
	// A second pass sends nothing more.
	if _, err := s.pass(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("after a second pass %d messages, want 1", n)
	}
	if tk := f.ticket(res.TicketRef); tk.Audit[len(tk.Audit)-1].Action != "mail-sent" {
		t.Errorf("no audit entry for the sent mail: %+v", tk.Audit[len(tk.Audit)-1])
	}
}

// TestSenderCrashAfterAccept is the one allowed duplicate: the server
// accepted the mail, Loket died before recording it. The retry sends the
// same message, with the same Message-ID.
func TestSenderCrashAfterAccept(t *testing.T) {
	f := newFixture(t)
	f.pol.Now = nil
	res := f.ingest("ondersteuning", msg("req@swv.example", "a@swv.example", "Clinic"), newClass(intake.TypeClinic))
	srv := startSMTP(t)
	s := testSender(f.store, srv)
	// The crash: the attempt was recorded, the mail accepted, no result recorded.
	e, err := f.store.markAttempt(res.OutboxID, time.Now(), time.Now().Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := composeMsg(e)
	c, _ := s.client()
	if err := c.DialAndSend(m); err != nil {
		t.Fatal(err)
	}
	// "Restart": a new sender over the same store.
	s2 := testSender(f.store, srv)
	if _, err := s2.pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 2 {
		t.Fatalf("%d messages, want the original and one resend", len(got))
	}
	id := func(b []byte) string { return intake.Parse(b).MessageID }
	if id(got[0].Data) != id(got[1].Data) || id(got[0].Data) != e.MessageID {
		t.Errorf("resend has another Message-ID: %s vs %s", id(got[0].Data), id(got[1].Data))
	}
	if e, _ := f.store.OutboxEntry(res.OutboxID); e.Status != OutboxSent || e.Attempts != 2 {
		t.Errorf("entry = %+v", e)
	}
}

func TestSenderRetriesThroughOutage(t *testing.T) {
	f := newFixture(t)
	f.pol.Now = nil
	res := f.ingest("ondersteuning", msg("req@swv.example", "a@swv.example", "Clinic"), newClass(intake.TypeClinic))
	srv := startSMTP(t)
	srv.SetFailing(errors.New("try again later"))
	s := testSender(f.store, srv)
	s.cfg.MaxAttempts = 100
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	deadline := time.Now().Add(5 * time.Second)
	for {
		e, _ := f.store.OutboxEntry(res.OutboxID)
		if e.Attempts >= 2 {
			if e.Status != OutboxQueued || e.LastError == "" {
				t.Fatalf("during outage entry = %+v", e)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no retries during the outage")
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.SetFailing(nil)
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if _, err := srv.Wait(wctx, 1); err != nil {
		t.Fatalf("not sent after the outage: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages after the outage, want 1", n)
	}
}

func TestSenderGivesUpAndFlags(t *testing.T) {
	f := newFixture(t)
	f.pol.Now = nil
	res := f.ingest("ondersteuning", msg("req@swv.example", "a@swv.example", "Clinic"), newClass(intake.TypeClinic))
	// Nobody listens on this port: every attempt fails temporarily.
	srv := startSMTP(t)
	port := srv.Port()
	srv.Close()
	s := NewSender(f.store, SMTPConfig{Host: "127.0.0.1", Port: port, TLS: "none", Timeout: time.Second,
		RetryBase: time.Millisecond, RetryMax: time.Millisecond, MaxAttempts: 3}, quietLog())
	for range 3 {
		time.Sleep(5 * time.Millisecond)
		if _, err := s.pass(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	e, _ := f.store.OutboxEntry(res.OutboxID)
	if e.Status != OutboxFailed || e.Attempts != 3 {
		t.Fatalf("entry = %+v", e)
	}
	if pending, _ := f.store.Outbox(true); len(pending) != 0 {
		t.Errorf("failed entry still pending")
	}
	if tk := f.ticket(res.TicketRef); len(tk.Flags) == 0 {
		t.Error("ticket not flagged after a failed confirmation")
	}
}
