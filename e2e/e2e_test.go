// Package e2e runs Loket end to end against a real Dovecot IMAP server and a
// real SMTP listener on loopback. CI installs Dovecot; locally the test is
// skipped when the dovecot binary is missing (never in CI, where CI is set).
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/internal/app"
	"github.com/poraad/loket/internal/mailtest"
	"github.com/poraad/loket/web"
	"github.com/poraad/loket/workflow"
)

const (
	addrOndersteuning = "ondersteuningpassendonderwijs@poraad.nl"
	addrPraktijktoets = "praktijktoets@ondersteuningpassendonderwijs.nl"
	token             = "e2e-token-0123456789abcdef"
)

type sample struct {
	file, mailbox, kind, typ string
	raw                      []byte
}

// samples reads the shared corpus: new requests, auto-replies and bounces.
// (Its follow-ups name tickets of another installation, so they are left
// out here; TestEndToEnd makes its own.)
func samples(t *testing.T) []sample {
	dir := filepath.Join("..", "..", "shared", "corpus", "samples")
	f, err := os.Open(filepath.Join(dir, "manifest.tsv"))
	if err != nil {
		t.Skipf("shared corpus absent: %v", err)
	}
	defer f.Close()
	var out []sample
	sc := bufio.NewScanner(f)
	sc.Scan()
	for sc.Scan() {
		col := strings.Split(sc.Text(), "\t")
		if len(col) < 4 || col[2] == "follow-up" {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, col[0]))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sample{file: col[0], mailbox: col[1], kind: col[2], typ: col[3], raw: raw})
	}
	return out
}

type harness struct {
	t       *testing.T
	dovecot *mailtest.Dovecot
	smtp    *mailtest.SMTPServer
	opts    app.Options
	addr    string
	cancel  context.CancelFunc
	done    chan error
}

func newHarness(t *testing.T) *harness {
	mailtest.RequireDovecot(t)
	dir := t.TempDir()
	dc, err := mailtest.StartDovecot(filepath.Join(dir, "dovecot"), map[string]string{"ondersteuning": "pw-o", "praktijktoets": "pw-p"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Stop() })
	smtpSrv, err := mailtest.StartSMTP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtpSrv.Close() })
	h := &harness{t: t, dovecot: dc, smtp: smtpSrv}
	h.opts = app.Options{
		StorePath: filepath.Join(dir, "loket.db"), Prefix: "PO", Listen: "127.0.0.1:0", APIToken: token,
		SMTP:    workflow.SMTPConfig{Host: "127.0.0.1", Port: smtpSrv.Port(), TLS: "none", Timeout: 5 * time.Second, RetryBase: 200 * time.Millisecond},
		Confirm: true, PerRecipientPerDay: 5,
		Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, m := range []struct{ name, addr, pw string }{{"ondersteuning", addrOndersteuning, "pw-o"}, {"praktijktoets", addrPraktijktoets, "pw-p"}} {
		mb := app.Mailbox{MailboxConfig: intake.MailboxConfig{Name: m.name, Address: m.addr, Host: "127.0.0.1", Port: dc.Port(),
			TLS: "none", Username: m.name, Password: m.pw, PollInterval: 2 * time.Second,
			InitialSync: intake.InitialSyncImport}, DisplayName: "Loket " + m.name}
		if m.name == "praktijktoets" {
			mb.Prior = intake.TypePraktijktoets
		}
		h.opts.Mailboxes = append(h.opts.Mailboxes, mb)
	}
	return h
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan string, 1)
	o := h.opts
	o.Started = func(addr string, _ *app.Running) { started <- addr }
	h.done = make(chan error, 1)
	go func() { h.done <- app.Run(ctx, o) }()
	select {
	case h.addr = <-started:
	case err := <-h.done:
		h.t.Fatalf("loket did not start: %v", err)
	case <-time.After(10 * time.Second):
		h.t.Fatal("loket did not start in 10 s")
	}
	h.cancel = cancel
}

func (h *harness) stop() {
	h.t.Helper()
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Fatalf("loket stopped with %v", err)
		}
	case <-time.After(15 * time.Second):
		h.t.Fatal("loket did not stop in 15 s")
	}
}

func (h *harness) get(path string, v any) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+h.addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("GET %s: %s: %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
}

func (h *harness) tickets() []web.TicketSummary { return allTickets(h.get) }

// allTickets returns every ticket as GET /api/v1/tickets/{ref} shows it
// (the list's items have no message_ids), listing them page by page with
// get, the API client of a test harness.
func allTickets(get func(path string, v any)) []web.TicketSummary {
	var out []web.TicketSummary
	for cursor := ""; ; {
		var page web.TicketList
		get("/api/v1/tickets?limit=1000&cursor="+url.QueryEscape(cursor), &page)
		for _, it := range page.Tickets {
			var d web.TicketDetail
			get("/api/v1/tickets/"+it.Ref, &d)
			out = append(out, d.TicketSummary)
		}
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

func (h *harness) unmatched() int {
	var out struct{ Messages []json.RawMessage }
	h.get("/api/v1/unmatched", &out)
	return len(out.Messages)
}

// waitFor polls cond until it holds or the deadline passes.
func (h *harness) waitFor(what string, d time.Duration, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (h *harness) append(mailbox string, raw []byte) {
	h.t.Helper()
	if err := h.dovecot.Append(mailbox, "INBOX", raw); err != nil {
		h.t.Fatal(err)
	}
}

func TestEndToEnd(t *testing.T) {
	all := samples(t)
	h := newHarness(t)
	h.start()

	var newCount, quietCount int
	requestIDs := map[string]sample{}
	for _, s := range all {
		h.append(s.mailbox, s.raw)
		if s.kind == "new" {
			newCount++
			requestIDs[intake.Parse(s.raw).MessageID] = s
		} else {
			quietCount++
		}
	}
	// Two requests of our own that nobody has seen, one per mailbox.
	for i, mb := range []string{"ondersteuning", "praktijktoets"} {
		raw := fmt.Sprintf("From: Test Aanvrager <aanvrager%d@swv-e2e.example>\r\nTo: %s\r\nSubject: Aanvraag clinic %d\r\nMessage-ID: <e2e-own-%d@swv-e2e.example>\r\nDate: %s\r\n\r\nGraag een clinic op maat over ons ondersteuningsplan, bij ons op locatie.\r\n",
			i, mb, i, i, time.Now().Format(time.RFC1123Z))
		h.append(mb, []byte(raw))
		newCount++
		requestIDs[fmt.Sprintf("e2e-own-%d@swv-e2e.example", i)] = sample{file: "own", mailbox: mb, kind: "new"}
	}

	h.waitFor(fmt.Sprintf("%d tickets and %d unmatched", newCount, quietCount), 60*time.Second, func() bool {
		return len(h.tickets()) >= newCount && h.unmatched()+countAttachedQuiet(h) >= quietCount
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := h.smtp.Wait(ctx, newCount)
	if err != nil {
		t.Fatalf("confirmations: %v (got %d of %d)", err, len(h.smtp.Messages()), newCount)
	}
	time.Sleep(2 * time.Second) // anything extra would show now
	sent := h.smtp.Messages()

	tickets := h.tickets()
	if len(tickets) != newCount {
		t.Errorf("%d tickets for %d new requests", len(tickets), newCount)
	}
	if len(sent) != newCount {
		t.Errorf("%d mails sent for %d new requests (auto-replies and bounces must get none)", len(sent), newCount)
	}
	// Every request: one ticket, one confirmation with the right headers.
	byReq := map[string]int{}
	for _, c := range sent {
		m := intake.Parse(c.Data)
		if len(m.InReplyTo) != 1 {
			t.Errorf("confirmation %s has In-Reply-To %v", m.MessageID, m.InReplyTo)
			continue
		}
		req := m.InReplyTo[0]
		s, ok := requestIDs[req]
		if !ok {
			t.Errorf("confirmation answers %s, which is no new request", req)
			continue
		}
		byReq[req]++
		want := addrOndersteuning
		if s.mailbox == "praktijktoets" {
			want = addrPraktijktoets
		}
		raw := "\r\n" + string(c.Data)
		checks := map[string]bool{
			"from the mailbox it came in on": m.From.Address == want && c.From == want,
			"ticket reference in subject":    strings.Contains(m.Subject, "[PO-2026-"),
			"References ends with request":   len(m.References) > 0 && m.References[len(m.References)-1] == req,
			"own Message-ID":                 m.MessageID != "" && m.MessageID != req && strings.HasPrefix(m.MessageID, "loket."),
			"Auto-Submitted: auto-replied":   strings.Contains(raw, "\r\nAuto-Submitted: auto-replied\r\n"),
			"X-Auto-Response-Suppress: All":  strings.Contains(raw, "\r\nX-Auto-Response-Suppress: All\r\n"),
			"Thread-Topic":                   strings.Contains(raw, "\r\nThread-Topic:"),
			"Thread-Index":                   strings.Contains(raw, "\r\nThread-Index:"),
		}
		for what, ok := range checks {
			if !ok {
				t.Errorf("confirmation for %s (%s): %s fails", req, s.file, what)
			}
		}
	}
	for req, s := range requestIDs {
		if byReq[req] != 1 {
			t.Errorf("request %s (%s) got %d confirmations, want 1", req, s.file, byReq[req])
		}
	}
	typeOK := 0
	for _, tk := range tickets {
		for _, id := range tk.MessageIDs {
			if s, ok := requestIDs[id]; ok && s.typ != "" && string(tk.Type) == s.typ {
				typeOK++
			}
		}
	}
	t.Logf("%d tickets, %d confirmations, %d auto-replies/bounces without mail, %d/%d corpus types right",
		len(tickets), len(sent), quietCount, typeOK, newCount-2)

	// Restart: nothing is sent twice, nothing is handled twice.
	h.stop()
	h.start()
	time.Sleep(3 * time.Second)
	if n := len(h.smtp.Messages()); n != newCount {
		t.Errorf("after a restart %d mails sent, want still %d", n, newCount)
	}
	if n := len(h.tickets()); n != newCount {
		t.Errorf("after a restart %d tickets, want still %d", n, newCount)
	}

	// A reply to a confirmation lands on the same ticket and is not confirmed.
	first := intake.Parse(sent[0].Data)
	ref := ticketOf(t, first.Subject)
	reply := fmt.Sprintf("From: <%s>\r\nTo: %s\r\nSubject: RE: %s\r\nMessage-ID: <e2e-reply@swv-e2e.example>\r\nIn-Reply-To: <%s>\r\nReferences: <%s>\r\nDate: %s\r\n\r\nDank u, dinsdag past ons goed.\r\n",
		sent[0].To[0], first.From.Address, strings.ReplaceAll(first.Subject, "["+ref+"] ", ""), first.MessageID, first.MessageID, time.Now().Format(time.RFC1123Z))
	mailbox := "ondersteuning"
	if first.From.Address == addrPraktijktoets {
		mailbox = "praktijktoets"
	}
	h.append(mailbox, []byte(reply))
	h.waitFor("the reply on "+ref, 30*time.Second, func() bool {
		var d web.TicketDetail
		h.get("/api/v1/tickets/"+ref, &d)
		for _, id := range d.MessageIDs {
			if id == "e2e-reply@swv-e2e.example" {
				return true
			}
		}
		return false
	})

	// Dovecot restarted mid-run: mail appended after it is back is taken,
	// nothing is lost or doubled.
	if err := h.dovecot.Restart(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		raw := fmt.Sprintf("From: <na-herstart%d@swv-e2e.example>\r\nTo: %s\r\nSubject: Aanmelding tweedaagse\r\nMessage-ID: <e2e-after-restart-%d@swv-e2e.example>\r\nDate: %s\r\n\r\nHierbij meld ik mij aan voor de tweedaagse voor directeuren in het (v)so.\r\n",
			i, addrOndersteuning, i, time.Now().Format(time.RFC1123Z))
		h.append("ondersteuning", []byte(raw))
	}
	h.waitFor("3 tickets after the Dovecot restart", 60*time.Second, func() bool { return len(h.tickets()) == newCount+3 })
	if _, err := h.smtp.Wait(ctx, newCount+3); err != nil {
		t.Fatalf("confirmations after the Dovecot restart: %v", err)
	}
	time.Sleep(2 * time.Second)
	if n := len(h.smtp.Messages()); n != newCount+3 {
		t.Errorf("%d mails after the Dovecot restart, want %d", n, newCount+3)
	}
	if n := len(h.tickets()); n != newCount+3 {
		t.Errorf("%d tickets after the Dovecot restart, want %d", n, newCount+3)
	}
	h.stop()
}

// countAttachedQuiet counts auto-replies and bounces attached to tickets.
func countAttachedQuiet(h *harness) int {
	n := 0
	for _, tk := range h.tickets() {
		var d web.TicketDetail
		h.get("/api/v1/tickets/"+tk.Ref, &d)
		for _, m := range d.Messages {
			if m.Class != nil && (m.Class.Kind == intake.KindAutoReply || m.Class.Kind == intake.KindBounce) {
				n++
			}
		}
	}
	return n
}

func ticketOf(t *testing.T, subject string) string {
	t.Helper()
	ref, ok := intake.ParseTicketRef(subject, "PO")
	if !ok {
		t.Fatalf("no ticket reference in %q", subject)
	}
	return ref
}
