package intake

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/poraad/loket/internal/mailtest"
)

// testHandler keeps the cursor and the fetched messages in memory, the way
// the workflow keeps them in bbolt. It records every violation of the
// Handler contract it can see.
type testHandler struct {
	mu       sync.Mutex
	cursor   Cursor
	got      []Fetched
	attempts map[uint32]int // Handle calls per UID, failed ones included
	failUID  uint32         // Handle of this UID fails failLeft more times
	failLeft int
	problems []string
	changed  chan struct{}
}

func newTestHandler() *testHandler {
	return &testHandler{attempts: make(map[uint32]int), changed: make(chan struct{})}
}

func (h *testHandler) Cursor(ctx context.Context, mailbox string) (Cursor, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cursor, nil
}

func (h *testHandler) Handle(ctx context.Context, f Fetched) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts[f.UID]++
	if f.UID == h.failUID && h.failLeft > 0 {
		h.failLeft--
		return errors.New("simulated store failure")
	}
	if f.UIDValidity == h.cursor.UIDValidity && f.UID <= h.cursor.LastUID {
		h.problems = append(h.problems, fmt.Sprintf("UID %d handed again (cursor %d)", f.UID, h.cursor.LastUID))
	}
	h.got = append(h.got, f)
	h.cursor = Cursor{UIDValidity: f.UIDValidity, LastUID: f.UID}
	close(h.changed)
	h.changed = make(chan struct{})
	return nil
}

func (h *testHandler) setCursor(c Cursor) {
	h.mu.Lock()
	h.cursor = c
	h.mu.Unlock()
}

func (h *testHandler) fetched() []Fetched {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Fetched(nil), h.got...)
}

// waitFor waits until n messages have been handled in all.
func (h *testHandler) waitFor(t *testing.T, n int, timeout time.Duration) []Fetched {
	t.Helper()
	deadline := time.After(timeout)
	for {
		h.mu.Lock()
		have, changed := len(h.got), h.changed
		h.mu.Unlock()
		if have >= n {
			return h.fetched()
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("handled %d messages after %v, want %d", have, timeout, n)
		}
	}
}

func (h *testHandler) checkContract(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.problems {
		t.Error(p)
	}
}

func uidsOf(fs []Fetched) []uint32 {
	var out []uint32
	for _, f := range fs {
		out = append(out, f.UID)
	}
	return out
}

func testMessage(n int) []byte {
	return []byte(fmt.Sprintf("From: Ouder %d <ouder%d@example.nl>\r\nTo: loket@example.nl\r\n"+
		"Subject: Aanvraag %d\r\nMessage-ID: <%d@example.nl>\r\n\r\nGraag een afspraak (%d).\r\n", n, n, n, n, n))
}

// logWriter sends log lines to t.Log and keeps them.
type logWriter struct {
	t   *testing.T
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(b)
	w.mu.Unlock()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func testLogger(t *testing.T) (*slog.Logger, *logWriter) {
	w := &logWriter{t: t}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), w
}

func startIMAP(t *testing.T, folders ...string) *mailtest.IMAPServer {
	t.Helper()
	srv, err := mailtest.StartIMAP(map[string]string{"desk": "geheim", "other": "ander"}, folders...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func configFor(srv interface {
	Host() string
	Port() int
}, user, password string) MailboxConfig {
	return MailboxConfig{
		Name:           "aanvragen",
		Address:        "aanvragen@example.nl",
		Host:           srv.Host(),
		Port:           srv.Port(),
		TLS:            "none",
		Username:       user,
		Password:       password,
		PollInterval:   time.Hour, // only IDLE and kicks wake the poller, unless a test says otherwise
		DialTimeout:    5 * time.Second,
		CommandTimeout: 10 * time.Second,
	}
}

// run starts p.Run and returns a function that cancels it and checks that
// it returns nil promptly. The function is also run at cleanup.
func run(t *testing.T, p *Poller) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v, want nil after cancel", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("Run did not return within 5s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func newTestPoller(t *testing.T, cfg MailboxConfig, h Handler) *Poller {
	log, _ := testLogger(t)
	p := NewPoller(cfg, h, log)
	p.backoffMin, p.backoffMax = 20*time.Millisecond, 200*time.Millisecond
	return p
}

// waitUntil polls cond every 10ms until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPollerFetchesExistingMessagesInUIDOrder(t *testing.T) {
	srv := startIMAP(t)
	for i := 1; i <= 7; i++ {
		if err := srv.Append("desk", "INBOX", testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	h := newTestHandler()
	cfg := configFor(srv, "desk", "geheim")
	cfg.BatchSize = 3 // three FETCH batches: 3, 3, 1
	p := newTestPoller(t, cfg, h)
	run(t, p)

	got := h.waitFor(t, 7, 5*time.Second)
	for i, f := range got {
		want := testMessage(i + 1)
		if f.UID != uint32(i+1) || !bytes.Equal(f.Raw, want) || f.Size != int64(len(want)) ||
			f.HeaderOnly || f.Mailbox != "aanvragen" || f.UIDValidity == 0 {
			t.Errorf("message %d: %+v", i+1, f)
		}
		if cap(f.Raw) != len(f.Raw) {
			t.Errorf("UID %d: Raw has cap %d for len %d; want one exact allocation", f.UID, cap(f.Raw), len(f.Raw))
		}
	}

	// Another pass finds nothing new: each message was handed over once.
	before := p.Status().LastPoll
	p.Kick()
	waitUntil(t, 5*time.Second, "a second pass", func() bool { return p.Status().LastPoll.After(before) })
	if n := len(h.fetched()); n != 7 {
		t.Errorf("%d messages handled after a second pass, want 7", n)
	}
	for uid, n := range h.attempts {
		if n != 1 {
			t.Errorf("UID %d handed over %d times", uid, n)
		}
	}
	st := p.Status()
	if !st.Connected || st.Handled != 7 || st.Cursor.LastUID != 7 || st.Mailbox != "aanvragen" || st.LastError != "" {
		t.Errorf("Status = %+v", st)
	}
	h.checkContract(t)
}

func TestPollerIdleSeesNewMessage(t *testing.T) {
	srv := startIMAP(t)
	h := newTestHandler()
	p := newTestPoller(t, configFor(srv, "desk", "geheim"), h)
	run(t, p)
	waitUntil(t, 5*time.Second, "the first pass", func() bool { return !p.Status().LastPoll.IsZero() })

	for i := 1; i <= 3; i++ {
		time.Sleep(50 * time.Millisecond) // let the poller get into IDLE
		start := time.Now()
		if err := srv.Append("desk", "INBOX", testMessage(i)); err != nil {
			t.Fatal(err)
		}
		h.waitFor(t, i, 2*time.Second)
		t.Logf("message %d handled %v after the append", i, time.Since(start))
	}
	if got := uidsOf(h.fetched()); fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("UIDs %v", got)
	}
	h.checkContract(t)
}

func TestPollerWithoutIdle(t *testing.T) {
	srv := startIMAP(t)
	h := newTestHandler()
	cfg := configFor(srv, "desk", "geheim")
	cfg.PollInterval = 150 * time.Millisecond
	p := newTestPoller(t, cfg, h)
	p.noIdle = true
	run(t, p)

	if err := srv.Append("desk", "INBOX", testMessage(1)); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, 1, 2*time.Second) // found by the interval

	// With a long interval, a Kick makes it look.
	srv2 := startIMAP(t)
	h2 := newTestHandler()
	p2 := newTestPoller(t, configFor(srv2, "desk", "geheim"), h2)
	p2.noIdle = true
	run(t, p2)
	waitUntil(t, 5*time.Second, "the first pass", func() bool { return !p2.Status().LastPoll.IsZero() })
	if err := srv2.Append("desk", "INBOX", testMessage(1)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(h2.fetched()); n != 0 {
		t.Fatalf("handled %d messages without IDLE, interval or kick", n)
	}
	p2.Kick()
	p2.Kick() // kicks collapse and never block
	h2.waitFor(t, 1, 2*time.Second)
}

func TestPollerRetriesFailedHandleWithoutSkipping(t *testing.T) {
	srv := startIMAP(t)
	for i := 1; i <= 4; i++ {
		if err := srv.Append("desk", "INBOX", testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	h := newTestHandler()
	h.failUID, h.failLeft = 2, 3
	p := newTestPoller(t, configFor(srv, "desk", "geheim"), h)
	run(t, p)

	got := h.waitFor(t, 4, 5*time.Second)
	if fmt.Sprint(uidsOf(got)) != "[1 2 3 4]" {
		t.Errorf("handled UIDs %v, want [1 2 3 4]", uidsOf(got))
	}
	h.mu.Lock()
	attempts := fmt.Sprint(h.attempts)
	h.mu.Unlock()
	if attempts != "map[1:1 2:4 3:1 4:1]" {
		t.Errorf("attempts per UID %s, want UID 2 four times and the rest once", attempts)
	}
	st := p.Status()
	if !strings.Contains(st.LastError, "handle UID 2") || !strings.Contains(st.LastError, "simulated store failure") {
		t.Errorf("LastError %q", st.LastError)
	}
	h.checkContract(t)
}

func TestPollerResumesFromCursor(t *testing.T) {
	srv := startIMAP(t)
	for i := 1; i <= 3; i++ {
		if err := srv.Append("desk", "INBOX", testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	h := newTestHandler()
	stop := run(t, newTestPoller(t, configFor(srv, "desk", "geheim"), h))
	h.waitFor(t, 3, 5*time.Second)
	stop()

	// Mail arrives while Loket is down; a new Poller with the same Handler
	// (cursor at 3) hands over only the new messages.
	for i := 4; i <= 5; i++ {
		if err := srv.Append("desk", "INBOX", testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	p := newTestPoller(t, configFor(srv, "desk", "geheim"), h)
	run(t, p)
	got := h.waitFor(t, 5, 5*time.Second)
	waitUntil(t, 5*time.Second, "a complete pass", func() bool { return !p.Status().LastPoll.IsZero() })
	if fmt.Sprint(uidsOf(h.fetched())) != "[1 2 3 4 5]" {
		t.Errorf("handled UIDs %v", uidsOf(got))
	}
	if st := p.Status(); st.Handled != 2 {
		t.Errorf("second poller handled %d, want 2", st.Handled)
	}
	h.checkContract(t)
}

func TestPollerRescansAfterUIDValidityChange(t *testing.T) {
	srv := startIMAP(t)
	for i := 1; i <= 3; i++ {
		if err := srv.Append("desk", "INBOX", testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	h := newTestHandler()
	// A cursor from before the server renumbered the folder: its LastUID
	// is beyond every UID now, yet all messages must be offered again.
	h.setCursor(Cursor{UIDValidity: 999999, LastUID: 100})
	log, logs := testLogger(t)
	p := NewPoller(configFor(srv, "desk", "geheim"), h, log)
	run(t, p)
	got := h.waitFor(t, 3, 5*time.Second)
	if fmt.Sprint(uidsOf(got)) != "[1 2 3]" {
		t.Errorf("handled UIDs %v", uidsOf(got))
	}
	for _, f := range got {
		if f.UIDValidity == 999999 {
			t.Errorf("UID %d handed with the old UIDVALIDITY", f.UID)
		}
	}
	// Once the cursor carries the new UIDVALIDITY, nothing is offered again.
	before := p.Status().LastPoll
	p.Kick()
	waitUntil(t, 5*time.Second, "another pass", func() bool { return p.Status().LastPoll.After(before) })
	if n := len(h.fetched()); n != 3 {
		t.Errorf("%d handled after another pass, want 3", n)
	}
	if !strings.Contains(logs.String(), "UIDVALIDITY changed") {
		t.Error("no warning about the UIDVALIDITY change logged")
	}
	h.checkContract(t)
}

func TestPollerFetchesOnlyHeaderOfLargeMessage(t *testing.T) {
	srv := startIMAP(t)
	header := "From: groot@example.nl\r\nTo: loket@example.nl\r\nSubject: Bijlage\r\nMessage-ID: <groot@example.nl>\r\n\r\n"
	big := []byte(header + strings.Repeat("0123456789abcdef\r\n", 200)) // 3.6 kB
	if err := srv.Append("desk", "INBOX", testMessage(1)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Append("desk", "INBOX", big); err != nil {
		t.Fatal(err)
	}
	h := newTestHandler()
	cfg := configFor(srv, "desk", "geheim")
	cfg.MaxMessageSize = 1000
	run(t, newTestPoller(t, cfg, h))
	got := h.waitFor(t, 2, 5*time.Second)
	if got[0].HeaderOnly || !bytes.Equal(got[0].Raw, testMessage(1)) {
		t.Errorf("small message: %+v", got[0])
	}
	f := got[1]
	if !f.HeaderOnly || string(f.Raw) != header || f.Size != int64(len(big)) {
		t.Errorf("large message: HeaderOnly=%v Size=%d Raw=%q", f.HeaderOnly, f.Size, f.Raw)
	}
	h.checkContract(t)
}

func TestPollerMovesHandledMailToProcessedFolder(t *testing.T) {
	srv := startIMAP(t) // "Verwerkt" does not exist yet: the poller creates it
	for i := 1; i <= 3; i++ {
		if err := srv.Append("desk", "INBOX", testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	h := newTestHandler()
	cfg := configFor(srv, "desk", "geheim")
	cfg.ProcessedFolder = "Verwerkt"
	p := newTestPoller(t, cfg, h)
	run(t, p)
	h.waitFor(t, 3, 5*time.Second)
	waitUntil(t, 5*time.Second, "a complete pass", func() bool { return !p.Status().LastPoll.IsZero() })

	inbox, err := srv.Messages("desk", "INBOX")
	if err != nil || len(inbox) != 0 {
		t.Errorf("INBOX after moving: %d messages, %v", len(inbox), err)
	}
	moved, err := srv.Messages("desk", "Verwerkt")
	if err != nil {
		t.Fatal(err)
	}
	if len(moved) != 3 {
		t.Fatalf("Verwerkt has %d messages, want 3", len(moved))
	}
	for i, m := range moved {
		if !bytes.Equal(m.Raw, testMessage(i+1)) || m.HasFlag(`\Seen`) || m.HasFlag(`\Deleted`) {
			t.Errorf("moved message %d: flags %v, raw %q", i+1, m.Flags, m.Raw)
		}
	}

	// New mail after the moves is still found (UIDs go on from 4).
	if err := srv.Append("desk", "INBOX", testMessage(4)); err != nil {
		t.Fatal(err)
	}
	got := h.waitFor(t, 4, 2*time.Second)
	if got[3].UID != 4 {
		t.Errorf("fourth message has UID %d", got[3].UID)
	}
	h.checkContract(t)
}

func TestPollerMovesHandledMailLeftBehind(t *testing.T) {
	// Mail handled while no ProcessedFolder was set (or before a connection
	// broke between Handle and MOVE) is moved on the next connection.
	srv := startIMAP(t)
	for i := 1; i <= 2; i++ {
		if err := srv.Append("desk", "INBOX", testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	h := newTestHandler()
	stop := run(t, newTestPoller(t, configFor(srv, "desk", "geheim"), h))
	h.waitFor(t, 2, 5*time.Second)
	stop()

	if err := srv.Append("desk", "INBOX", testMessage(3)); err != nil {
		t.Fatal(err)
	}
	cfg := configFor(srv, "desk", "geheim")
	cfg.ProcessedFolder = "Verwerkt"
	p := newTestPoller(t, cfg, h)
	run(t, p)
	h.waitFor(t, 3, 5*time.Second)
	waitUntil(t, 5*time.Second, "a complete pass", func() bool { return !p.Status().LastPoll.IsZero() })
	if got := uidsOf(h.fetched()); fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("handled UIDs %v", got)
	}
	inbox, _ := srv.Messages("desk", "INBOX")
	moved, _ := srv.Messages("desk", "Verwerkt")
	if len(inbox) != 0 || len(moved) != 3 {
		t.Errorf("INBOX has %d, Verwerkt %d; want 0 and 3", len(inbox), len(moved))
	}
	h.checkContract(t)
}

func TestPollerCopiesWhenServerHasNoMove(t *testing.T) {
	srv, err := mailtest.StartIMAPWith(mailtest.IMAPOptions{
		Users:   map[string]string{"desk": "geheim"},
		Folders: []string{"Verwerkt"},
		NoMove:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for i := 1; i <= 2; i++ {
		if err := srv.Append("desk", "INBOX", testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	h := newTestHandler()
	cfg := configFor(srv, "desk", "geheim")
	cfg.ProcessedFolder = "Verwerkt"
	log, logs := testLogger(t)
	p := NewPoller(cfg, h, log)
	stop := run(t, p)
	h.waitFor(t, 2, 5*time.Second)
	waitUntil(t, 5*time.Second, "a complete pass", func() bool { return !p.Status().LastPoll.IsZero() })
	stop()

	// COPY, and the originals stay untouched: never \Deleted, never expunged.
	for _, folder := range []string{"INBOX", "Verwerkt"} {
		msgs, err := srv.Messages("desk", folder)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 2 {
			t.Errorf("%s has %d messages, want 2", folder, len(msgs))
		}
		for _, m := range msgs {
			if len(m.Flags) != 0 {
				t.Errorf("%s UID %d has flags %v", folder, m.UID, m.Flags)
			}
		}
	}
	if n := strings.Count(logs.String(), "server has no MOVE"); n != 1 {
		t.Errorf("logged the missing MOVE %d times, want once", n)
	}
}

func TestPollerLeavesFlagsAlone(t *testing.T) {
	srv := startIMAP(t)
	flags := [][]string{nil, {`\Flagged`}, {`\Seen`}, {`\Answered`, `$Label1`}}
	for i, f := range flags {
		if err := srv.Append("desk", "INBOX", testMessage(i+1), f...); err != nil {
			t.Fatal(err)
		}
	}
	before, err := srv.Messages("desk", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	h := newTestHandler()
	p := newTestPoller(t, configFor(srv, "desk", "geheim"), h)
	stop := run(t, p)
	h.waitFor(t, len(flags), 5*time.Second)
	waitUntil(t, 5*time.Second, "a complete pass", func() bool { return !p.Status().LastPoll.IsZero() })
	stop()

	after, err := srv.Messages("desk", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("%d messages after polling, %d before", len(after), len(before))
	}
	for i := range before {
		if fmt.Sprint(slices.Sorted(slices.Values(before[i].Flags))) != fmt.Sprint(slices.Sorted(slices.Values(after[i].Flags))) {
			t.Errorf("UID %d flags %v before, %v after", before[i].UID, before[i].Flags, after[i].Flags)
		}
		if after[i].HasFlag(`\Seen`) != (i == 2) {
			t.Errorf("UID %d: \\Seen is %v", after[i].UID, after[i].HasFlag(`\Seen`))
		}
	}
}

func TestPollerCancelReturnsPromptlyWithoutLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	srv, err := mailtest.StartIMAP(map[string]string{"desk": "geheim"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Append("desk", "INBOX", testMessage(1)); err != nil {
		t.Fatal(err)
	}

	// A server that accepts connections and never says a word.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var held []net.Conn
	var heldMu sync.Mutex
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			heldMu.Lock()
			held = append(held, c)
			heldMu.Unlock()
		}
	}()
	defer func() {
		silent.Close()
		<-acceptDone
		heldMu.Lock()
		for _, c := range held {
			c.Close()
		}
		heldMu.Unlock()
	}()
	silentCfg := MailboxConfig{
		Name: "stil", Host: "127.0.0.1", Port: silent.Addr().(*net.TCPAddr).Port, TLS: "none",
		Username: "x", Password: "y", DialTimeout: time.Minute, CommandTimeout: time.Minute,
	}

	cases := []struct {
		name  string
		cfg   MailboxConfig
		ready func(*Poller, *testHandler) bool
	}{
		{"idling", configFor(srv, "desk", "geheim"), func(p *Poller, h *testHandler) bool {
			return len(h.fetched()) == 1 && !p.Status().LastPoll.IsZero()
		}},
		{"waiting for a greeting", silentCfg, func(p *Poller, h *testHandler) bool { return true }},
		{"backing off", configFor(srv, "desk", "fout"), func(p *Poller, h *testHandler) bool {
			return !p.Status().RetryAt.IsZero()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHandler()
			p := NewPoller(tc.cfg, h, slog.New(slog.DiscardHandler))
			p.backoffMin = time.Minute // a long backoff, to cancel in
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			waitUntil(t, 5*time.Second, "the poller to get going", func() bool { return tc.ready(p, h) })
			time.Sleep(100 * time.Millisecond)
			start := time.Now()
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v", err)
				}
				if d := time.Since(start); d > time.Second {
					t.Errorf("Run took %v to return after cancel", d)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			if p.Status().Connected {
				t.Error("Status says connected after Run returned")
			}
		})
	}
}

func TestPollerCommandTimeout(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cfg := MailboxConfig{
		Name: "stil", Host: "127.0.0.1", Port: silent.Addr().(*net.TCPAddr).Port, TLS: "none",
		Username: "x", Password: "y", DialTimeout: 100 * time.Millisecond, CommandTimeout: 100 * time.Millisecond,
	}
	p := newTestPoller(t, cfg, newTestHandler())
	run(t, p)
	waitUntil(t, 3*time.Second, "a timeout error", func() bool { return p.Status().LastError != "" })
	if st := p.Status(); !strings.Contains(st.LastError, "timeout") || st.Connected {
		t.Errorf("Status = %+v, want a timeout", st)
	}
}

func TestPollerWrongPasswordDoesNotAffectOtherMailbox(t *testing.T) {
	srv := startIMAP(t)
	if err := srv.Append("desk", "INBOX", testMessage(1)); err != nil {
		t.Fatal(err)
	}
	badLog, badLogs := testLogger(t)
	bad := NewPoller(configFor(srv, "desk", "verkeerd-wachtwoord"), newTestHandler(), badLog)
	bad.backoffMin, bad.backoffMax = 50*time.Millisecond, 400*time.Millisecond
	run(t, bad)

	good := newTestHandler()
	goodCfg := configFor(srv, "other", "ander")
	goodCfg.Name = "info"
	gp := newTestPoller(t, goodCfg, good)
	run(t, gp)

	waitUntil(t, 3*time.Second, "a failed login", func() bool { return bad.Status().LastError != "" })
	first := bad.Status()
	if first.Connected || !strings.Contains(first.LastError, "LOGIN") || first.RetryAt.Before(first.LastErrorAt) {
		t.Errorf("bad mailbox Status = %+v", first)
	}
	// It keeps trying, backing off, without crashing.
	waitUntil(t, 3*time.Second, "a second attempt", func() bool { return bad.Status().LastErrorAt.After(first.LastErrorAt) })

	if err := srv.Append("other", "INBOX", testMessage(2)); err != nil {
		t.Fatal(err)
	}
	got := good.waitFor(t, 1, 2*time.Second)
	if got[0].Mailbox != "info" || !bytes.Equal(got[0].Raw, testMessage(2)) {
		t.Errorf("good mailbox got %+v", got[0])
	}
	if st := gp.Status(); !st.Connected || st.LastError != "" {
		t.Errorf("good mailbox Status = %+v", st)
	}
	if strings.Contains(badLogs.String(), "verkeerd-wachtwoord") {
		t.Error("the password appears in the log")
	}
	if !strings.Contains(badLogs.String(), "mailbox=aanvragen") {
		t.Error("log lines do not name the mailbox")
	}
}

func TestPollerRefusesPlaintextToRemoteHost(t *testing.T) {
	p := NewPoller(MailboxConfig{Name: "x", Host: "imap.example.nl", TLS: "none", Username: "u", Password: "p"},
		newTestHandler(), slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := p.Run(ctx)
	if !errors.Is(err, ErrPlaintextRemote) {
		t.Fatalf("Run = %v, want ErrPlaintextRemote", err)
	}
	if p.Status().LastError == "" {
		t.Error("the refusal is not in Status")
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "[::1]", "127.1.2.3"} {
		if !isLoopback(host) {
			t.Errorf("isLoopback(%q) = false", host)
		}
	}
	for _, host := range []string{"imap.example.nl", "10.0.0.1", "localhost.example.nl"} {
		if isLoopback(host) {
			t.Errorf("isLoopback(%q) = true", host)
		}
	}
}

func TestPollerTLSModes(t *testing.T) {
	for _, mode := range []string{"tls", "starttls"} {
		t.Run(mode, func(t *testing.T) {
			srv, err := mailtest.StartIMAPWith(mailtest.IMAPOptions{Users: map[string]string{"desk": "geheim"}, TLS: mode})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if err := srv.Append("desk", "INBOX", testMessage(1)); err != nil {
				t.Fatal(err)
			}
			h := newTestHandler()
			cfg := configFor(srv, "desk", "geheim")
			cfg.TLS = mode
			cfg.TLSConfig = &tls.Config{RootCAs: srv.CertPool()} // ServerName becomes Host, 127.0.0.1
			run(t, newTestPoller(t, cfg, h))
			h.waitFor(t, 1, 5*time.Second)

			// Without the test CA the certificate is refused.
			h2 := newTestHandler()
			cfg.TLSConfig = nil
			p2 := newTestPoller(t, cfg, h2)
			run(t, p2)
			waitUntil(t, 5*time.Second, "a certificate error", func() bool { return p2.Status().LastError != "" })
			if st := p2.Status(); !strings.Contains(st.LastError, "certificate") || len(h2.fetched()) != 0 {
				t.Errorf("without the CA: %+v", st)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	for n, base := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 9: 256 * time.Second} {
		for range 50 {
			d := backoff(n, backoffMin, backoffMax)
			if d < base*8/10 || d > base*12/10 {
				t.Fatalf("backoff(%d) = %v, want %v ± 20%%", n, d, base)
			}
		}
	}
	for _, n := range []int{10, 11, 100, 1000} {
		for range 50 {
			if d := backoff(n, backoffMin, backoffMax); d < 4*time.Minute || d > 5*time.Minute {
				t.Fatalf("backoff(%d) = %v, want 4m–5m", n, d)
			}
		}
	}
}

func TestPollerAgainstDovecotRestart(t *testing.T) {
	mailtest.RequireDovecot(t)
	d, err := mailtest.StartDovecot(t.TempDir(), map[string]string{"desk": "geheim"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := d.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("dovecot log:\n%s", d.Log())
		}
	}()
	for i := 1; i <= 2; i++ {
		if err := d.Append("desk", "INBOX", testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	h := newTestHandler()
	cfg := configFor(d, "desk", "geheim")
	cfg.ProcessedFolder = "Verwerkt"
	cfg.PollInterval = 3 * time.Second
	p := newTestPoller(t, cfg, h)
	p.backoffMin, p.backoffMax = 100*time.Millisecond, time.Second
	run(t, p)
	h.waitFor(t, 2, 10*time.Second)

	// IDLE on a real server.
	if err := d.Append("desk", "INBOX", testMessage(3)); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, 3, 2500*time.Millisecond)

	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "the poller to notice", func() bool { return !p.Status().Connected })
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 4; i <= 5; i++ {
		if err := d.Append("desk", "INBOX", testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	h.waitFor(t, 5, 10*time.Second)
	time.Sleep(300 * time.Millisecond) // room for a wrongly doubled message to show up

	got := h.fetched()
	if len(got) != 5 {
		t.Fatalf("handled %d messages, want 5", len(got))
	}
	for i, f := range got {
		if f.UID != uint32(i+1) || !bytes.Equal(f.Raw, testMessage(i+1)) {
			t.Errorf("message %d: UID %d, raw %q", i+1, f.UID, f.Raw)
		}
	}
	moved, err := d.Messages("desk", "Verwerkt")
	if err != nil {
		t.Fatal(err)
	}
	if len(moved) != 5 {
		t.Errorf("Verwerkt holds %d messages, want 5", len(moved))
	}
	for _, m := range moved {
		if m.HasFlag(`\Seen`) || m.HasFlag(`\Deleted`) {
			t.Errorf("moved UID %d has flags %v", m.UID, m.Flags)
		}
	}
	if inbox, err := d.Messages("desk", "INBOX"); err != nil || len(inbox) != 0 {
		t.Errorf("INBOX still holds %d messages (%v)", len(inbox), err)
	}
	h.checkContract(t)
}

// TestPollerSizesOfMixedMessages: a batch asks the size only of the
// messages above smallSize (UID SEARCH LARGER); every message, small,
// medium or big, still comes whole, in UID order, with its size.
func TestPollerSizesOfMixedMessages(t *testing.T) {
	srv := startIMAP(t)
	var want [][]byte
	for i, size := range []int{0, 40 << 10, 0, 2 << 20, smallSize, smallSize + 1, 0} {
		m := testMessage(i + 1)
		if size > len(m) {
			m = append(m[:len(m):len(m)], bytes.Repeat([]byte("x"), size-len(m))...)
		}
		if err := srv.Append("desk", "INBOX", m); err != nil {
			t.Fatal(err)
		}
		want = append(want, m)
	}
	h := newTestHandler()
	cfg := configFor(srv, "desk", "geheim")
	p := newTestPoller(t, cfg, h)
	run(t, p)
	got := h.waitFor(t, len(want), 10*time.Second)
	for i, f := range got {
		if f.UID != uint32(i+1) || f.HeaderOnly || !bytes.Equal(f.Raw, want[i]) || f.Size != int64(len(want[i])) {
			t.Errorf("message %d: UID %d, HeaderOnly %v, %d bytes, Size %d; want %d bytes", i+1, f.UID, f.HeaderOnly, len(f.Raw), f.Size, len(want[i]))
		}
	}
	h.checkContract(t)
}
