package workflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/internal/mailtest"
	"github.com/poraad/loket/templates"
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

// smtpProxy forwards TCP connections to an SMTP server, counts them, and
// can drop every open one (a server or network that closes idle
// connections).
type smtpProxy struct {
	ln       net.Listener
	target   string
	accepted atomic.Int32
	open     atomic.Int32 // connections the client has not closed

	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *smtpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &smtpProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.drop() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			p.open.Add(1)
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				p.open.Add(-1)
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close(); p.open.Add(-1) }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *smtpProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// drop closes every connection open now.
func (p *smtpProxy) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// queueConfirmations ingests n new requests from different senders, each
// queueing one confirmation, and returns their outbox IDs.
func queueConfirmations(f *fixture, n int) []uint64 {
	f.t.Helper()
	var ids []uint64
	for i := range n {
		id := fmt.Sprintf("par-%d-%d@swv.example", f.uid, i)
		res := f.ingest("ondersteuning", msg(id, fmt.Sprintf("s%d-%d@swv.example", f.uid, i), "Clinic"), newClass(intake.TypeClinic))
		if res.OutboxID == 0 {
			f.t.Fatalf("message %d queued no confirmation: %+v", i, res)
		}
		ids = append(ids, res.OutboxID)
	}
	return ids
}

// checkSentOnce checks that every entry is sent after one attempt and that
// the server got each Message-ID exactly once.
func checkSentOnce(t *testing.T, st *Store, srv *mailtest.SMTPServer, ids []uint64) {
	t.Helper()
	seen := map[string]int{}
	for _, m := range srv.Messages() {
		seen[intake.Parse(m.Data).MessageID]++
	}
	for _, id := range ids {
		e, err := st.OutboxEntry(id)
		if err != nil {
			t.Fatal(err)
		}
		if e.Status != OutboxSent || e.Attempts != 1 {
			t.Errorf("outbox %d: %s after %d attempts, want sent after 1", id, e.Status, e.Attempts)
		}
		if n := seen[e.MessageID]; n != 1 {
			t.Errorf("outbox %d (%s) received %d times, want once", id, e.MessageID, n)
		}
	}
	if n := len(srv.Messages()); n != len(ids) {
		t.Errorf("server received %d messages, want %d", n, len(ids))
	}
}

// TestSenderDrainsInParallel: the due entries of a pass go over at most
// MaxConnections connections, each entry exactly once, and the next pass
// reuses the connections.
func TestSenderDrainsInParallel(t *testing.T) {
	tests := []struct {
		name           string
		entries, conns int
		wantDials      int // connections opened by the first pass
	}{
		{"one entry", 1, 4, 1},
		{"one connection", 12, 1, 1},
		{"fewer connections than entries", 30, 4, 4},
		{"more connections than entries", 3, 8, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.pol.Now = nil
			srv := startSMTP(t)
			proxy := startProxy(t, srv.Addr())
			s := NewSender(f.store, SMTPConfig{Host: "127.0.0.1", Port: proxy.port(), TLS: "none", Timeout: 5 * time.Second,
				RetryBase: time.Minute, MaxConnections: tt.conns}, quietLog())
			defer s.Close()
			ids := queueConfirmations(f, tt.entries)
			next, err := s.pass(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !next.IsZero() {
				t.Errorf("next = %v after a pass that sent everything", next)
			}
			checkSentOnce(t, f.store, srv, ids)
			// Workers dial when they take their first entry: with few
			// entries a fast worker may take several, so at most wantDials.
			if n := int(proxy.accepted.Load()); n < 1 || n > tt.wantDials {
				t.Errorf("%d connections for %d entries, want 1 to %d", n, tt.entries, tt.wantDials)
			}
			dials := proxy.accepted.Load()

			more := queueConfirmations(f, tt.entries)
			if _, err := s.pass(context.Background()); err != nil {
				t.Fatal(err)
			}
			checkSentOnce(t, f.store, srv, append(ids, more...))
			if n := proxy.accepted.Load(); n > max(dials, int32(tt.wantDials)) {
				t.Errorf("second pass opened %d new connections, want the kept ones reused", n-dials)
			}
			if st := s.Status(); st.Sent != 2*tt.entries || st.Failed != 0 {
				t.Errorf("status %+v", st)
			}
		})
	}
}

// TestSenderRedialsDroppedConnection: a kept connection the server closed
// is found dead before the next entry's attempt is recorded, and a new one
// is dialled without using an attempt.
func TestSenderRedialsDroppedConnection(t *testing.T) {
	f := newFixture(t)
	f.pol.Now = nil
	srv := startSMTP(t)
	proxy := startProxy(t, srv.Addr())
	s := NewSender(f.store, SMTPConfig{Host: "127.0.0.1", Port: proxy.port(), TLS: "none", Timeout: 5 * time.Second,
		RetryBase: time.Minute, MaxConnections: 1}, quietLog())
	defer s.Close()
	ids := queueConfirmations(f, 1)
	if _, err := s.pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	proxy.drop()
	ids = append(ids, queueConfirmations(f, 3)...)
	if _, err := s.pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkSentOnce(t, f.store, srv, ids)
	if n := proxy.accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the first and one after the drop)", n)
	}
}

// TestSenderClosesIdleConnections: a connection unused for ConnIdle is
// closed; the next pass dials.
func TestSenderClosesIdleConnections(t *testing.T) {
	f := newFixture(t)
	f.pol.Now = nil
	srv := startSMTP(t)
	proxy := startProxy(t, srv.Addr())
	s := NewSender(f.store, SMTPConfig{Host: "127.0.0.1", Port: proxy.port(), TLS: "none", Timeout: 5 * time.Second,
		RetryBase: time.Minute, ConnIdle: 50 * time.Millisecond}, quietLog())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	ids := queueConfirmations(f, 1)
	s.Kick()
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if _, err := srv.Wait(wctx, 1); err != nil {
		t.Fatal(err)
	}
	// The connection is kept after the pass, then closed.
	deadline := time.Now().Add(5 * time.Second)
	for s.idleExpiry().IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("connection not kept after the pass")
		}
		time.Sleep(time.Millisecond)
	}
	for !s.idleExpiry().IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("idle connection not closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ids = append(ids, queueConfirmations(f, 1)...)
	s.Kick()
	if _, err := srv.Wait(wctx, 2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the result is recorded after the 250
	checkSentOnce(t, f.store, srv, ids)
	if n := proxy.accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// BenchmarkSenderDrain measures one pass over 50 due confirmations (an
// IDLE burst) against the loopback capture server, per MaxConnections.
func BenchmarkSenderDrain(b *testing.B) {
	const n = 50
	tmpl, err := templates.Load("")
	if err != nil {
		b.Fatal(err)
	}
	srv, err := mailtest.StartSMTP()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	for _, conns := range []int{1, 4} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			st, err := Open(filepath.Join(b.TempDir(), "loket.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			pol := &Policy{Prefix: "PO", Templates: tmpl, Confirm: true,
				Mailboxes: map[string]MailboxInfo{"ondersteuning": {Name: "ondersteuning", Address: "ondersteuningpassendonderwijs@poraad.nl"}}}
			s := NewSender(st, SMTPConfig{Host: "127.0.0.1", Port: srv.Port(), TLS: "none", Timeout: 5 * time.Second,
				RetryBase: time.Minute, MaxConnections: conns}, quietLog())
			defer s.Close()
			uid := uint32(0)
			for b.Loop() {
				b.StopTimer()
				for i := range n {
					uid++
					m := msg(fmt.Sprintf("bench-%d@swv.example", uid), fmt.Sprintf("s%d@swv.example", uid), "Clinic")
					if _, err := st.Ingest(Inbound{Mailbox: "ondersteuning", UIDValidity: 7, UID: uid, Raw: []byte("raw"), Msg: m,
						Class: newClass(intake.TypeClinic)}, pol); err != nil {
						b.Fatal(i, err)
					}
				}
				b.StartTimer()
				if _, err := s.pass(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "mails/s")
			if st := s.Status(); st.Sent != n*b.N {
				b.Fatalf("sent %d of %d", st.Sent, n*b.N)
			}
		})
	}
}

// TestSenderCloseAfterIdle: Close ends a kept connection even when it has
// been idle longer than Timeout (its deadline has passed).
func TestSenderCloseAfterIdle(t *testing.T) {
	f := newFixture(t)
	f.pol.Now = nil
	srv := startSMTP(t)
	proxy := startProxy(t, srv.Addr())
	s := NewSender(f.store, SMTPConfig{Host: "127.0.0.1", Port: proxy.port(), TLS: "none", Timeout: 200 * time.Millisecond,
		RetryBase: time.Minute}, quietLog())
	ids := queueConfirmations(f, 2)
	if _, err := s.pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkSentOnce(t, f.store, srv, ids)
	time.Sleep(300 * time.Millisecond)
	s.Close()
	waitFor(t, "the kept connections to be closed", func() bool { return proxy.open.Load() == 0 })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
