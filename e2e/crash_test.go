package e2e

// crash_test.go is the crash loop: the real loket binary against a private
// Dovecot and an SMTP listener of this test (which outlives every crash),
// killed with SIGKILL at random moments while mail of every kind keeps
// arriving. At the end nothing may be lost and nothing doubled, except the
// one duplicate the design allows: a confirmation resent after a crash
// between the SMTP server's acceptance and Loket's record of it, with the
// same Message-ID.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/internal/mailtest"
	"github.com/poraad/loket/workflow"
)

const (
	crashMessages = 500 // messages appended during the loop
	crashMinKills = 20  // SIGKILLs at least
)

// crashKind is what a generated message is meant to be.
type crashKind string

const (
	ckNew       crashKind = "new"
	ckFollowUp  crashKind = "follow-up"
	ckAuto      crashKind = "auto-reply"       // answers a confirmation: lands on its ticket
	ckAutoLoose crashKind = "auto-reply-loose" // answers nothing of ours: unmatched
	ckBounce    crashKind = "bounce"
)

// crashMsg is one appended message and what must become of it.
type crashMsg struct {
	id      string // Message-ID without brackets
	kind    crashKind
	mailbox string
	request string // for messages answering a confirmation: the request's Message-ID
}

// newRequests are the request texts the generator picks from: several
// request types, in the words requesters use.
var newRequests = []struct{ subject, body string }{
	{"Aanvraag clinic ondersteuningsplan", "Graag vragen wij een clinic aan over ons ondersteuningsplan, voor onze intern begeleiders, bij ons op locatie."},
	{"Aanmelding praktijktoets", "Hierbij melden wij ons samenwerkingsverband aan voor de praktijktoets met het spiegelteam."},
	{"Aanmelding werkbijeenkomst gemeenten", "Wij melden ons aan voor de regionale werkbijeenkomst samenwerking met gemeenten en jeugdhulppartners."},
	{"Aanmelding bijeenkomst OPP", "Graag melden wij twee collega's aan voor de bijeenkomst over het ontwikkelingsperspectief (OPP) in het vo."},
	{"Aanmelding tweedaagse", "Hierbij meld ik mij aan voor de tweedaagse voor directeuren in het (v)so."},
	{"Goed voorbeeld voor de nieuwsbrief", "Wij willen graag een goed voorbeeld delen voor de website en de nieuwsbrief: onze aanpak voor thuiszitters."},
	{"Vraag over het model ondersteuningsplan", "Waar vind ik het model ondersteuningsplan en de handreiking over de geschillenregeling?"},
	{"Begeleiding ondersteuningsplanraad", "Onze ondersteuningsplanraad vraagt begeleiding bij de instemming op het nieuwe ondersteuningsplan."},
	{"Aanmelding training kwartiermakers", "Ik wil mij graag aanmelden voor de training en de online leergemeenschap voor kwartiermakers."},
	{"Maatwerkbijeenkomst financiën", "Wij zouden graag een maatwerkbijeenkomst over de financiën en governance van ons samenwerkingsverband willen."},
}

// crashGen makes the messages of the loop.
type crashGen struct {
	rng  *rand.Rand
	smtp *mailtest.SMTPServer
	n    int
}

func mailboxOfAddress(addr string) string {
	if strings.EqualFold(addr, addrPraktijktoets) {
		return "praktijktoets"
	}
	return "ondersteuning"
}

func addressOfMailbox(mb string) string {
	if mb == "praktijktoets" {
		return addrPraktijktoets
	}
	return addrOndersteuning
}

// next returns the next message and its raw bytes: about 75 % new
// requests, the rest follow-ups, auto-replies and bounces answering a
// confirmation already captured (a new request while there is none yet).
func (g *crashGen) next() (crashMsg, []byte) {
	g.n++
	n := g.n
	date := time.Now().Format(time.RFC1123Z)
	roll := g.rng.IntN(100)
	if roll < 75 {
		return g.newRequest(n, date)
	}
	if roll < 80 {
		id := fmt.Sprintf("crash-%03d-ooo@school%02d.example", n, n%7)
		mb := []string{"ondersteuning", "praktijktoets"}[g.rng.IntN(2)]
		raw := fmt.Sprintf("From: Afwezig <afwezig%03d@school%02d.example>\r\nTo: %s\r\nSubject: Automatisch antwoord: afwezig\r\n"+
			"Message-ID: <%s>\r\nDate: %s\r\nAuto-Submitted: auto-replied\r\n\r\nIk ben afwezig tot maandag.\r\n",
			n, n%7, addressOfMailbox(mb), id, date)
		return crashMsg{id: id, kind: ckAutoLoose, mailbox: mb}, []byte(raw)
	}
	sent := g.smtp.Messages()
	if len(sent) == 0 {
		return g.newRequest(n, date)
	}
	c := sent[g.rng.IntN(len(sent))]
	conf := intake.Parse(c.Data)
	if len(conf.InReplyTo) != 1 || len(c.To) != 1 {
		return g.newRequest(n, date)
	}
	req, requester, mb := conf.InReplyTo[0], c.To[0], mailboxOfAddress(conf.From.Address)
	subject := strings.TrimSpace(conf.Subject)
	switch {
	case roll < 92:
		id := fmt.Sprintf("crash-%03d-reply@swv.example", n)
		raw := fmt.Sprintf("From: <%s>\r\nTo: %s\r\nSubject: RE: %s\r\nMessage-ID: <%s>\r\nIn-Reply-To: <%s>\r\nReferences: <%s> <%s>\r\nDate: %s\r\n\r\n"+
			"Dank voor de bevestiging. Wij hebben voorkeur voor een dinsdagmiddag.\r\n\r\n> Wij hebben uw aanvraag ontvangen.\r\n",
			requester, conf.From.Address, subject, id, conf.MessageID, req, conf.MessageID, date)
		return crashMsg{id: id, kind: ckFollowUp, mailbox: mb, request: req}, []byte(raw)
	case roll < 96:
		id := fmt.Sprintf("crash-%03d-auto@swv.example", n)
		raw := fmt.Sprintf("From: <%s>\r\nTo: %s\r\nSubject: Automatisch antwoord: %s\r\nMessage-ID: <%s>\r\nIn-Reply-To: <%s>\r\nDate: %s\r\n"+
			"Auto-Submitted: auto-replied\r\n\r\nIk ben tot en met vrijdag afwezig en lees mijn mail niet.\r\n",
			requester, conf.From.Address, subject, id, conf.MessageID, date)
		return crashMsg{id: id, kind: ckAuto, mailbox: mb, request: req}, []byte(raw)
	default:
		id := fmt.Sprintf("crash-%03d-dsn@mx.swv.example", n)
		raw := fmt.Sprintf("From: Mail Delivery System <MAILER-DAEMON@mx.swv.example>\r\nTo: %[1]s\r\nSubject: Undelivered Mail Returned to Sender\r\n"+
			"Message-ID: <%[2]s>\r\nDate: %[3]s\r\nAuto-Submitted: auto-replied\r\nX-Failed-Recipients: %[4]s\r\nMIME-Version: 1.0\r\n"+
			"Content-Type: multipart/report; report-type=delivery-status; boundary=\"dsn-%[6]d\"\r\n\r\n"+
			"--dsn-%[6]d\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nYour message could not be delivered to <%[4]s>: mailbox full.\r\n"+
			"--dsn-%[6]d\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.swv.example\r\n\r\nFinal-Recipient: rfc822; %[4]s\r\nAction: failed\r\nStatus: 5.2.2\r\n"+
			"--dsn-%[6]d\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: %[1]s\r\nTo: %[4]s\r\nSubject: %[5]s\r\nMessage-ID: <%[7]s>\r\n"+
			"--dsn-%[6]d--\r\n",
			conf.From.Address, id, date, requester, subject, n, conf.MessageID)
		return crashMsg{id: id, kind: ckBounce, mailbox: mb, request: req}, []byte(raw)
	}
}

func (g *crashGen) newRequest(n int, date string) (crashMsg, []byte) {
	r := newRequests[g.rng.IntN(len(newRequests))]
	mb := "ondersteuning"
	if strings.Contains(r.subject, "praktijktoets") || g.rng.IntN(5) == 0 {
		mb = "praktijktoets"
	}
	id := fmt.Sprintf("crash-%03d-new@swv%02d.example", n, n%13)
	// One sender per request: the per-recipient limits must not be what
	// keeps a confirmation back here.
	raw := fmt.Sprintf("From: Aanvrager %03d <aanvrager%03d@swv%02d.example>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGeachte heer, mevrouw,\r\n\r\n%s\r\n\r\nMet vriendelijke groet,\r\nAanvrager %03d\r\nSWV Regio %02d\r\n",
		n, n, n%13, addressOfMailbox(mb), r.subject, id, date, r.body, n, n%13)
	return crashMsg{id: id, kind: ckNew, mailbox: mb}, []byte(raw)
}

func TestCrashLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash loop takes minutes; it runs without -short (and always in CI)")
	}
	mailtest.RequireDovecot(t)
	started := time.Now()
	seed := uint64(20260006)
	if s := os.Getenv("LOKET_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("LOKET_CRASH_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("seed %d (set LOKET_CRASH_SEED to change it)", seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x6c6f6b6574))

	dir := t.TempDir()
	bin := loketBinary(t, dir)
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
	// A server slow to say 250 widens the window between its acceptance and
	// Loket's record of it, so that some kills land in it.
	smtpSrv.SetAcceptDelay(60 * time.Millisecond)

	addr := fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t))
	cfg := writeConfig(t, procConfig{Dir: dir, DovecotPort: dc.Port(), SMTPPort: smtpSrv.Port(), Listen: addr, PollInterval: time.Second})
	p := newProc(t, bin, cfg, filepath.Join(dir, "loket.log"), addr)
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("loket's log (end):\n%s", p.logTail())
		}
	})

	// The appender: 500 messages of mixed kinds, spread over about 45 s.
	var (
		mu       sync.Mutex
		appended []crashMsg
		appErr   error
	)
	appDone := make(chan struct{})
	gen := &crashGen{rng: rand.New(rand.NewPCG(seed+1, seed)), smtp: smtpSrv}
	gaps := rand.New(rand.NewPCG(seed+2, seed))
	go func() {
		defer close(appDone)
		for range crashMessages {
			m, raw := gen.next()
			if err := dc.Append(m.mailbox, "INBOX", raw); err != nil {
				mu.Lock()
				appErr = fmt.Errorf("append %s: %w", m.id, err)
				mu.Unlock()
				return
			}
			mu.Lock()
			appended = append(appended, m)
			mu.Unlock()
			time.Sleep(time.Duration(gaps.IntN(160)) * time.Millisecond)
		}
	}()

	// The killer: start, wait 0.2–2 s, SIGKILL; until every message is in
	// and at least crashMinKills kills have happened.
	kills := 0
	loopStart := time.Now()
	appendsDone := func() bool {
		select {
		case <-appDone:
			return true
		default:
			return false
		}
	}
	for !appendsDone() || kills < crashMinKills {
		p.start()
		time.Sleep(200*time.Millisecond + time.Duration(rng.Int64N(int64(1800*time.Millisecond))))
		if p.exited() {
			t.Fatalf("loket exited by itself (%v):\n%s", p.err, p.logTail())
		}
		p.kill()
		kills++
	}
	loopTime := time.Since(loopStart)
	if appErr != nil {
		t.Fatal(appErr)
	}
	t.Logf("%d messages appended, %d kills in %s", len(appended), kills, loopTime.Round(time.Millisecond))

	// The final, clean run: everything must drain.
	drainStart := time.Now()
	p.start()
	p.waitHTTP(15 * time.Second)
	byID := map[string]crashMsg{}
	newCount := 0
	for _, m := range appended {
		byID[m.id] = m
		if m.kind == ckNew {
			newCount++
		}
	}
	deadline := time.Now().Add(150 * time.Second)
	for {
		pending := p.outbox(true)
		seen := map[string]bool{}
		for _, tk := range p.tickets() {
			for _, id := range tk.MessageIDs {
				seen[id] = true
			}
		}
		for _, m := range p.unmatched() {
			seen[m.Message.MessageID] = true
		}
		missing := 0
		for id := range byID {
			if !seen[id] {
				missing++
			}
		}
		if len(pending) == 0 && missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not drained after %s: %d outbox entries pending, %d of %d messages not accounted for",
				time.Since(drainStart).Round(time.Second), len(pending), missing, len(byID))
		}
		time.Sleep(500 * time.Millisecond)
	}
	drainTime := time.Since(drainStart)
	time.Sleep(2 * time.Second) // anything sent twice after the drain would show now

	tickets := p.tickets()
	unmatched := p.unmatched()
	outbox := p.outbox(false)
	sent := smtpSrv.Messages()
	p.stop()

	// Where every Message-ID is: on which tickets, and how often unmatched.
	onTickets := map[string][]string{}
	messageRefs := 0
	for _, tk := range tickets {
		for _, id := range tk.MessageIDs {
			onTickets[id] = append(onTickets[id], tk.Ref)
			messageRefs++
		}
	}
	unmatchedIDs := map[string]int{}
	for _, m := range unmatched {
		unmatchedIDs[m.Message.MessageID]++
	}
	for id, refs := range onTickets {
		if len(refs) > 1 {
			t.Errorf("Message-ID <%s> is on %d tickets: %v", id, len(refs), refs)
		}
		if unmatchedIDs[id] > 0 {
			t.Errorf("Message-ID <%s> is on ticket %s and unmatched too", id, refs[0])
		}
	}
	for id, n := range unmatchedIDs {
		if n > 1 {
			t.Errorf("Message-ID <%s> is unmatched %d times", id, n)
		}
	}

	// Every new request: exactly one ticket, its own; everything else on
	// the ticket of the request it answers, or unmatched.
	ticketOfRequest := map[string]string{}
	requestOfTicket := map[string]string{}
	for _, m := range appended {
		refs := onTickets[m.id]
		switch m.kind {
		case ckNew:
			if len(refs) != 1 {
				t.Errorf("new request <%s> is on %d tickets (unmatched %d times)", m.id, len(refs), unmatchedIDs[m.id])
				continue
			}
			if other, ok := requestOfTicket[refs[0]]; ok {
				t.Errorf("ticket %s holds two new requests: <%s> and <%s>", refs[0], other, m.id)
			}
			ticketOfRequest[m.id], requestOfTicket[refs[0]] = refs[0], m.id
		case ckAutoLoose:
			if unmatchedIDs[m.id] != 1 || len(refs) != 0 {
				t.Errorf("auto-reply <%s>: unmatched %d times, on tickets %v; want unmatched once", m.id, unmatchedIDs[m.id], refs)
			}
		}
	}
	for _, m := range appended {
		if m.request == "" {
			continue
		}
		refs := onTickets[m.id]
		if want := ticketOfRequest[m.request]; len(refs) != 1 || refs[0] != want {
			t.Errorf("%s <%s> is on tickets %v (unmatched %d times), want the ticket %s of <%s>", m.kind, m.id, refs, unmatchedIDs[m.id], want, m.request)
		}
	}
	if len(tickets) != newCount {
		t.Errorf("%d tickets for %d new requests", len(tickets), newCount)
	}

	// Confirmations: one per new request; a second only with the same
	// Message-ID (a resend after a crash between acceptance and record).
	confirmations := map[string][]string{} // request Message-ID -> Message-IDs of mails captured
	for _, c := range sent {
		m := intake.Parse(c.Data)
		if len(m.InReplyTo) != 1 {
			t.Errorf("captured mail <%s> has In-Reply-To %v", m.MessageID, m.InReplyTo)
			continue
		}
		req := m.InReplyTo[0]
		if byID[req].kind != ckNew {
			t.Errorf("captured mail <%s> answers <%s>, which is no new request (%q)", m.MessageID, req, byID[req].kind)
			continue
		}
		confirmations[req] = append(confirmations[req], m.MessageID)
	}
	duplicates := 0
	for _, m := range appended {
		if m.kind != ckNew {
			continue
		}
		ids := confirmations[m.id]
		if len(ids) == 0 {
			t.Errorf("new request <%s> (ticket %s) got no confirmation", m.id, ticketOfRequest[m.id])
			continue
		}
		for _, id := range ids[1:] {
			if id != ids[0] {
				t.Errorf("new request <%s> got two different confirmations: <%s> and <%s>", m.id, ids[0], id)
			}
			duplicates++
		}
		if refs := onTickets[ids[0]]; len(refs) != 1 || refs[0] != ticketOfRequest[m.id] {
			t.Errorf("confirmation <%s> of <%s> is on tickets %v, want %s", ids[0], m.id, refs, ticketOfRequest[m.id])
		}
	}
	retried := 0
	for _, e := range outbox {
		if e.Status != workflow.OutboxSent {
			t.Errorf("outbox %d for %s is %s (%s)", e.ID, e.TicketRef, e.Status, e.LastError)
		}
		if e.Attempts > 1 {
			retried++
		}
	}
	if len(outbox) != newCount {
		t.Errorf("%d outbox entries for %d new requests", len(outbox), newCount)
	}

	// The store, read directly now that Loket has stopped: every message
	// once (inbound and our confirmations), nothing pending.
	st, err := workflow.Open(filepath.Join(dir, "loket.db"))
	if err != nil {
		t.Fatal(err)
	}
	stats, err := st.Stats()
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if want := len(appended) + len(outbox); stats.Messages != want {
		t.Errorf("store holds %d messages, want %d (%d appended + %d confirmations)", stats.Messages, want, len(appended), len(outbox))
	}
	if want := len(appended) - len(unmatched) + len(outbox); messageRefs != want {
		t.Errorf("tickets list %d messages, want %d", messageRefs, want)
	}
	if stats.OutboxPending != 0 || stats.Tickets != newCount {
		t.Errorf("store: %d tickets, %d pending; want %d, 0", stats.Tickets, stats.OutboxPending, newCount)
	}

	kinds := map[crashKind]int{}
	for _, m := range appended {
		kinds[m.kind]++
	}
	t.Logf("crash loop: %d messages (%d new, %d follow-ups, %d auto-replies on tickets, %d loose auto-replies, %d bounces), %d kills",
		len(appended), kinds[ckNew], kinds[ckFollowUp], kinds[ckAuto], kinds[ckAutoLoose], kinds[ckBounce], kills)
	t.Logf("crash loop: %d tickets, %d messages stored, %d unmatched, %d mails captured, %d confirmations, %d duplicates (same Message-ID), %d outbox entries needing more than one attempt",
		len(tickets), stats.Messages, len(unmatched), len(sent), len(confirmations), duplicates, retried)
	t.Logf("crash loop: loop %s, final drain %s, whole test %s",
		loopTime.Round(time.Millisecond), drainTime.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
}
