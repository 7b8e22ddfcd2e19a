package e2e

// outage_test.go: the servers Loket depends on go away and come back, and
// nothing is lost or doubled. SMTP refusing and SMTP's port closed (mail
// waits in the outbox, retried with backoff, sent when it returns); Dovecot
// restarted while Loket idles and while it works; connections cut mid-FETCH
// and mid-IDLE; a server that stops answering (timeouts, no goroutine
// leak); the store's disk full (the poller stops advancing, /healthz and the
// log say so, and it resumes without loss); a UIDVALIDITY change.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/web"
)

// logCapture is a slog destination that keeps what was logged for the test
// to search, and shows it in the test's output.
type logCapture struct {
	t  *testing.T
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logCapture) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.b.Write(p)
	l.mu.Unlock()
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (l *logCapture) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// capture makes the harness's Loket log at level into a logCapture.
func (h *harness) capture(level slog.Level) *logCapture {
	lc := &logCapture{t: h.t}
	h.opts.Log = slog.New(slog.NewTextHandler(lc, &slog.HandlerOptions{Level: level}))
	return lc
}

// componentHealth is one component of /healthz.
type componentHealth struct {
	OK     bool            `json:"ok"`
	Detail json.RawMessage `json:"detail"`
}

// healthz returns /healthz's status code and components.
func (h *harness) healthz() (int, map[string]componentHealth) {
	h.t.Helper()
	resp, err := http.Get("http://" + h.addr + "/healthz")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		h.t.Fatalf("healthz: %v: %s", err, body)
	}
	out := map[string]componentHealth{}
	for k, v := range raw {
		var c componentHealth
		if json.Unmarshal(v, &c) == nil {
			out[k] = c
		}
	}
	return resp.StatusCode, out
}

// mailboxReason returns the reason /healthz gives for a mailbox, "" when
// it is healthy.
func (h *harness) mailboxReason(mailbox string) (string, intake.Cursor) {
	_, comps := h.healthz()
	var d struct {
		Reason string `json:"reason"`
		Cursor intake.Cursor
	}
	_ = json.Unmarshal(comps["mailbox:"+mailbox].Detail, &d)
	return d.Reason, d.Cursor
}

func (h *harness) outbox(pending bool) []outboxView {
	path := "/api/v1/outbox"
	if pending {
		path += "?pending=1"
	}
	var out struct{ Outbox []outboxView }
	h.get(path, &out)
	return out.Outbox
}

type outboxView struct {
	ID          uint64    `json:"id"`
	TicketRef   string    `json:"ticket_ref"`
	MessageID   string    `json:"message_id"`
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	LastAttempt time.Time `json:"last_attempt"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error"`
}

// requestMail is a new request with its own sender, so that no
// per-recipient limit holds its confirmation back.
func requestMail(tag string, i int, mailbox string, bodyExtra string) (id string, raw []byte) {
	id = fmt.Sprintf("%s-%03d@swv-outage.example", tag, i)
	raw = fmt.Appendf(nil, "From: Aanvrager %[2]d <%[1]s-%[2]d@swv-outage.example>\r\nTo: %[3]s\r\nSubject: Aanvraag clinic %[1]s %[2]d\r\n"+
		"Message-ID: <%[4]s>\r\nDate: %[5]s\r\n\r\nGraag een clinic over ons ondersteuningsplan, bij ons op locatie.\r\n%[6]s",
		tag, i, addressOfMailbox(mailbox), id, time.Now().Format(time.RFC1123Z), bodyExtra)
	return id, raw
}

// checkOnce asserts that each request has exactly one ticket and exactly
// one confirmation, and that there are no other tickets or mails.
func (h *harness) checkOnce(requests []string) {
	h.t.Helper()
	onTicket := map[string]int{}
	tickets := h.tickets()
	for _, tk := range tickets {
		for _, id := range tk.MessageIDs {
			onTicket[id]++
		}
	}
	mails := map[string]int{}
	sent := h.smtp.Messages()
	for _, c := range sent {
		m := intake.Parse(c.Data)
		if len(m.InReplyTo) == 1 {
			mails[m.InReplyTo[0]]++
		}
	}
	for _, id := range requests {
		if onTicket[id] != 1 || mails[id] != 1 {
			h.t.Errorf("request <%s>: on %d tickets, %d confirmations; want 1 and 1", id, onTicket[id], mails[id])
		}
	}
	if len(tickets) != len(requests) || len(sent) != len(requests) {
		h.t.Errorf("%d tickets and %d mails for %d requests", len(tickets), len(sent), len(requests))
	}
}

// waitSettled waits until every request has a ticket and the outbox is
// empty, then a little longer for anything doubled to show.
func (h *harness) waitSettled(what string, requests []string, d time.Duration) {
	h.t.Helper()
	h.waitFor(what, d, func() bool {
		return len(h.tickets()) >= len(requests) && len(h.outbox(true)) == 0 && len(h.smtp.Messages()) >= len(requests)
	})
	time.Sleep(1500 * time.Millisecond)
	h.checkOnce(requests)
}

// tcpProxy forwards a port to a server, and can close its port (the server
// is gone: connection refused), cut every connection, or stall (bytes stop
// flowing: a server that hangs).
type tcpProxy struct {
	t      *testing.T
	addr   string // fixed after the first listen
	target string

	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]struct{}
	stalled bool
	wg      sync.WaitGroup
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{t: t, addr: "127.0.0.1:0", target: target, conns: map[net.Conn]struct{}{}}
	p.open()
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) port() int {
	_, port, _ := net.SplitHostPort(p.addr)
	var n int
	fmt.Sscan(port, &n)
	return n
}

// open listens (again) on the proxy's port.
func (p *tcpProxy) open() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy listen on %s: %v", p.addr, err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.serve(c)
		}
	}()
}

func (p *tcpProxy) serve(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	pipe := func(dst, src net.Conn) {
		defer p.wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			for n > 0 && p.isStalled() {
				time.Sleep(20 * time.Millisecond)
				if !p.tracked(src) {
					return
				}
			}
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		dst.Close()
		src.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
	}
	p.wg.Add(2)
	go pipe(s, c)
	go pipe(c, s)
}

func (p *tcpProxy) isStalled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stalled
}

func (p *tcpProxy) tracked(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.conns[c]
	return ok
}

// stall stops (true) or resumes (false) the flow of bytes.
func (p *tcpProxy) stall(on bool) {
	p.mu.Lock()
	p.stalled = on
	p.mu.Unlock()
}

// cut closes every open connection; the port stays open.
func (p *tcpProxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns) / 2
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
	return n
}

// shut closes the port and every connection: connection refused.
func (p *tcpProxy) shut() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.mu.Unlock()
	p.cut()
}

// close shuts the proxy and waits for its goroutines.
func (p *tcpProxy) close() {
	p.shut()
	p.wg.Wait()
}

// leakCheck returns a function that checks, after Loket has stopped, that
// it left no goroutine behind; goroutines running before (Dovecot's
// reaper, the SMTP listener, other tests) are ignored.
func leakCheck(t *testing.T) func() {
	ignore := goleak.IgnoreCurrent()
	// A Dovecot (re)started during the test has its reaper goroutine.
	reaper := goleak.IgnoreAnyFunction("github.com/poraad/loket/internal/mailtest.(*Dovecot).Start.func1")
	return func() {
		t.Helper()
		http.DefaultClient.CloseIdleConnections()
		if err := goleak.Find(ignore, reaper); err != nil {
			t.Errorf("goroutines left behind: %v", err)
		}
	}
}

func TestOutageSMTPRefusing(t *testing.T) {
	if testing.Short() {
		t.Skip("outage tests take a while; they run without -short (and always in CI)")
	}
	h := newHarness(t)
	h.opts.SMTP.RetryMax = 2 * time.Second
	leaks := leakCheck(t)
	h.start()

	h.smtp.SetFailing(errors.New("4.3.0 mail system busy, try later"))
	outageStart := time.Now()
	var ids []string
	for i := range 3 {
		id, raw := requestMail("smtp-refusing", i, "ondersteuning", "")
		ids = append(ids, id)
		h.append("ondersteuning", raw)
	}
	h.waitFor("3 tickets with their mail waiting", 30*time.Second, func() bool {
		pending := h.outbox(true)
		return len(h.tickets()) == 3 && len(pending) == 3 && pending[0].Attempts >= 2
	})
	time.Sleep(4 * time.Second) // the outage goes on
	pending := h.outbox(true)
	for _, e := range pending {
		if e.Status != "queued" || e.LastError == "" || !strings.Contains(e.LastError, "try later") {
			t.Errorf("pending entry %d: status %q, last error %q", e.ID, e.Status, e.LastError)
		}
		// Backoff: 0.2 s doubling to 2 s over about 6 s is 4 to 8
		// attempts; a sender retrying in a loop would have made hundreds.
		if e.Attempts < 3 || e.Attempts > 10 {
			t.Errorf("entry %d: %d attempts in %s, want backoff (3 to 10)", e.ID, e.Attempts, time.Since(outageStart).Round(time.Second))
		}
	}
	// The ticket shows its confirmation waiting.
	var d web.TicketDetail
	h.get("/api/v1/tickets/"+pending[0].TicketRef, &d)
	shown := false
	for _, m := range d.Messages {
		if m.Outbox != nil && m.Outbox.Status == "queued" && m.Outbox.LastError != "" {
			shown = true
		}
	}
	if !shown {
		t.Errorf("ticket %s does not show its waiting confirmation", d.Ref)
	}
	if n := len(h.smtp.Messages()); n != 0 {
		t.Errorf("%d mails accepted during the outage", n)
	}
	attempts := pending[0].Attempts

	h.smtp.SetFailing(nil)
	back := time.Now()
	h.waitSettled("the mail after the outage", ids, 30*time.Second)
	t.Logf("SMTP refusing for %s: %d attempts per mail, all %d sent %s after it ended",
		back.Sub(outageStart).Round(100*time.Millisecond), attempts, len(ids), lastCaptured(h).Sub(back).Round(100*time.Millisecond))
	h.stop()
	leaks()
}

func lastCaptured(h *harness) time.Time {
	var last time.Time
	for _, c := range h.smtp.Messages() {
		if c.At.After(last) {
			last = c.At
		}
	}
	return last
}

func TestOutageSMTPPortClosed(t *testing.T) {
	if testing.Short() {
		t.Skip("outage tests take a while; they run without -short (and always in CI)")
	}
	h := newHarness(t)
	proxy := startProxy(t, h.smtp.Addr())
	h.opts.SMTP.Port = proxy.port()
	h.opts.SMTP.RetryMax = 2 * time.Second
	leaks := leakCheck(t)
	h.start()

	proxy.shut()
	down := time.Now()
	var ids []string
	for i := range 3 {
		id, raw := requestMail("smtp-closed", i, "praktijktoets", "")
		ids = append(ids, id)
		h.append("praktijktoets", raw)
	}
	h.waitFor("3 tickets with their mail waiting on a closed port", 30*time.Second, func() bool {
		pending := h.outbox(true)
		return len(pending) == 3 && pending[0].Attempts >= 3
	})
	time.Sleep(3 * time.Second) // the outage goes on
	for _, e := range h.outbox(true) {
		if !strings.Contains(e.LastError, "connection refused") {
			t.Errorf("entry %d: last error %q, want connection refused", e.ID, e.LastError)
		}
	}
	proxy.open()
	back := time.Now()
	h.waitSettled("the mail after the port opened again", ids, 30*time.Second)
	t.Logf("SMTP port closed for %s; all %d mails sent %s after it opened", back.Sub(down).Round(100*time.Millisecond),
		len(ids), lastCaptured(h).Sub(back).Round(100*time.Millisecond))
	h.stop()
	proxy.close()
	leaks()
}

func TestOutageDovecotRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("outage tests take a while; they run without -short (and always in CI)")
	}
	h := newHarness(t)
	logs := h.capture(slog.LevelWarn)
	leaks := leakCheck(t)
	h.start()

	var ids []string
	add := func(tag string, n int) {
		for i := range n {
			id, raw := requestMail(tag, i, "ondersteuning", "")
			ids = append(ids, id)
			h.append("ondersteuning", raw)
		}
	}
	add("before", 2)
	h.waitSettled("the first requests", ids, 30*time.Second)

	// While Loket idles: Dovecot goes away, /healthz says so, it comes back.
	if err := h.dovecot.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	h.waitFor("/healthz to report the mailbox down", 15*time.Second, func() bool {
		code, _ := h.healthz()
		reason, _ := h.mailboxReason("ondersteuning")
		return code == http.StatusServiceUnavailable && strings.Contains(reason, "mailbox ondersteuning")
	})
	reason, _ := h.mailboxReason("ondersteuning")
	t.Logf("/healthz while Dovecot is down (after %s): %s", time.Since(stopped).Round(100*time.Millisecond), reason)
	time.Sleep(2 * time.Second)
	if err := h.dovecot.Start(); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	add("after-idle-restart", 3)
	h.waitSettled("the requests after the restart", ids, 60*time.Second)
	t.Logf("idle restart: down %s, %d requests handled %s after Dovecot came back", started.Sub(stopped).Round(100*time.Millisecond), 3, time.Since(started).Round(100*time.Millisecond))
	h.waitFor("/healthz healthy again", 15*time.Second, func() bool { code, _ := h.healthz(); return code == http.StatusOK })

	// While Loket works: 40 requests of 300 KB, Dovecot restarted in the
	// middle of handling them, 10 more after.
	pad := strings.Repeat("Verslag van de werkgroep over het ondersteuningsplan en de financiën.\r\n", 4200)
	for i := range 40 {
		id, raw := requestMail("mid-run", i, "ondersteuning", pad)
		ids = append(ids, id)
		h.append("ondersteuning", raw)
	}
	h.waitFor("the first mid-run tickets", 30*time.Second, func() bool { return len(h.tickets()) >= len(ids)-37 })
	handled := len(h.tickets())
	if err := h.dovecot.Restart(); err != nil {
		t.Fatal(err)
	}
	add("after-mid-run-restart", 10)
	h.waitSettled("every request after the mid-run restart", ids, 90*time.Second)
	t.Logf("mid-run restart after %d of %d tickets: all %d requests once", handled, len(ids)-10, len(ids))
	if !strings.Contains(logs.String(), "imap: mailbox session failed") {
		t.Errorf("the log does not mention the failed sessions")
	}
	h.stop()
	leaks()
}

func TestOutageIMAPCutAndStalled(t *testing.T) {
	if testing.Short() {
		t.Skip("outage tests take a while; they run without -short (and always in CI)")
	}
	h := newHarness(t)
	proxy := startProxy(t, h.dovecot.Addr())
	for i := range h.opts.Mailboxes {
		mb := &h.opts.Mailboxes[i].MailboxConfig
		mb.Port = proxy.port()
		mb.DialTimeout, mb.CommandTimeout = time.Second, 2*time.Second
	}
	leaks := leakCheck(t)
	h.start()

	var ids []string
	// Large requests (400 KB each) so that a FETCH is in flight when the
	// connection is cut.
	pad := strings.Repeat("Bijlage met verslag van de vorige bijeenkomst en het ondersteuningsplan.\r\n", 5600)
	for i := range 30 {
		id, raw := requestMail("cut", i, "ondersteuning", pad)
		ids = append(ids, id)
		h.append("ondersteuning", raw)
	}
	cuts, midway := 0, 0
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		if n := len(h.tickets()); n > 0 && n < len(ids) {
			midway++
		}
		cuts += proxy.cut()
	}
	h.waitSettled("every request despite cut connections", ids, 60*time.Second)
	t.Logf("%d connections cut, %d times with the mailbox half handled; %d requests once each", cuts, midway, len(ids))

	// Cut mid-IDLE: the next message still arrives.
	time.Sleep(500 * time.Millisecond)
	proxy.cut()
	id, raw := requestMail("after-idle-cut", 0, "ondersteuning", "")
	ids = append(ids, id)
	h.append("ondersteuning", raw)
	h.waitSettled("the request after an IDLE cut", ids, 30*time.Second)

	// A server that stops answering: commands time out, the poller backs
	// off and reconnects when it answers again.
	proxy.stall(true)
	stalled := time.Now()
	id, raw = requestMail("while-stalled", 0, "ondersteuning", "")
	ids = append(ids, id)
	h.append("ondersteuning", raw) // straight to Dovecot, not through the proxy
	h.waitFor("/healthz to report the stalled mailbox", 20*time.Second, func() bool {
		reason, _ := h.mailboxReason("ondersteuning")
		return strings.Contains(reason, "timeout")
	})
	reason, _ := h.mailboxReason("ondersteuning")
	t.Logf("stalled server noticed after %s: %s", time.Since(stalled).Round(100*time.Millisecond), reason)
	proxy.stall(false)
	proxy.cut() // what hung meanwhile
	h.waitSettled("the request from while the server hung", ids, 60*time.Second)
	h.stop()
	proxy.close()
	leaks()
}

func TestOutageDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("outage tests take a while; they run without -short (and always in CI)")
	}
	h := newHarness(t)
	disk := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", disk).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mount a tmpfs for the full-disk test (CI runs as root): %v: %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs here (needs root): %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", disk).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", disk, err, out)
		}
	})
	h.opts.StorePath = filepath.Join(disk, "loket.db")
	logs := h.capture(slog.LevelWarn)
	leaks := leakCheck(t)
	h.start()

	var ids []string
	for i := range 3 {
		id, raw := requestMail("disk-before", i, "ondersteuning", "")
		ids = append(ids, id)
		h.append("ondersteuning", raw)
	}
	h.waitSettled("the requests before the disk fills", ids, 30*time.Second)
	_, before := h.mailboxReason("ondersteuning")

	// Fill the disk to the last byte.
	filler := filepath.Join(disk, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			break
		}
	}
	f.Close()
	full := time.Now()

	// Requests large enough to need new pages in the store.
	pad := strings.Repeat("Verslag van de werkgroep over het ondersteuningsplan en de financiën.\r\n", 5000)
	var during []string
	for i := range 3 {
		id, raw := requestMail("disk-full", i, "ondersteuning", pad)
		during = append(during, id)
		h.append("ondersteuning", raw)
	}
	h.waitFor("/healthz to report the mailbox stuck on a full disk", 30*time.Second, func() bool {
		code, _ := h.healthz()
		reason, _ := h.mailboxReason("ondersteuning")
		return code == http.StatusServiceUnavailable && strings.Contains(reason, "no space left on device")
	})
	noticed := time.Since(full)
	reason, cur := h.mailboxReason("ondersteuning")
	if !strings.Contains(reason, "mailbox ondersteuning") {
		t.Errorf("healthz reason %q does not name the mailbox", reason)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "no space left on device") {
		t.Errorf("no ERROR about the full disk in the log")
	}
	time.Sleep(3 * time.Second) // the poller must not go past the message meanwhile
	if n := len(h.tickets()); n != len(ids) {
		t.Errorf("%d tickets while the disk is full, want still %d", n, len(ids))
	}
	if _, now := h.mailboxReason("ondersteuning"); now != before || cur != before {
		t.Errorf("cursor moved while the disk was full: %+v, then %+v, before %+v", cur, now, before)
	}

	// Space returns: everything is taken, once.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	ids = append(ids, during...)
	h.waitSettled("the requests after space returned", ids, 90*time.Second)
	resumed := time.Since(freed)
	h.waitFor("/healthz healthy again", 30*time.Second, func() bool { code, _ := h.healthz(); return code == http.StatusOK })
	t.Logf("disk full: noticed on /healthz after %s (%s); after space returned all %d requests handled once within %s",
		noticed.Round(100*time.Millisecond), reason, len(ids), resumed.Round(100*time.Millisecond))
	h.stop()
	leaks()
}

func TestUIDValidityChange(t *testing.T) {
	if testing.Short() {
		t.Skip("outage tests take a while; they run without -short (and always in CI)")
	}
	h := newHarness(t)
	logs := h.capture(slog.LevelWarn)
	leaks := leakCheck(t)
	h.start()

	var ids []string
	for i := range 5 {
		id, raw := requestMail("uidvalidity", i, "ondersteuning", "")
		ids = append(ids, id)
		h.append("ondersteuning", raw)
	}
	h.waitSettled("the requests before the change", ids, 30*time.Second)
	_, before := h.mailboxReason("ondersteuning")

	// Dovecot forgets its UIDs: without dovecot-uidlist and its indexes it
	// numbers the folder anew under a new UIDVALIDITY.
	if err := h.dovecot.Stop(); err != nil {
		t.Fatal(err)
	}
	maildir := filepath.Join(filepath.Dir(h.opts.StorePath), "dovecot", "mail", "ondersteuning", "Maildir")
	files, _ := filepath.Glob(filepath.Join(maildir, "dovecot*"))
	for _, f := range files {
		if err := os.RemoveAll(f); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1100 * time.Millisecond) // UIDVALIDITY is a time in seconds
	if err := h.dovecot.Start(); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the poller to take the new UIDVALIDITY", 30*time.Second, func() bool {
		_, cur := h.mailboxReason("ondersteuning")
		return cur.UIDValidity != 0 && cur.UIDValidity != before.UIDValidity && cur.LastUID >= before.LastUID
	})
	_, after := h.mailboxReason("ondersteuning")
	time.Sleep(1500 * time.Millisecond)
	h.checkOnce(ids)
	if !strings.Contains(logs.String(), "UIDVALIDITY changed") {
		t.Errorf("the log does not mention the UIDVALIDITY change")
	}

	id, raw := requestMail("uidvalidity-after", 0, "ondersteuning", "")
	ids = append(ids, id)
	h.append("ondersteuning", raw)
	h.waitSettled("the request after the change", ids, 30*time.Second)
	t.Logf("UIDVALIDITY %d -> %d: %d messages rescanned, none handled twice", before.UIDValidity, after.UIDValidity, len(ids)-1)
	h.stop()
	leaks()
}
