package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/templates"
)

type fixture struct {
	t     *testing.T
	store *Store
	pol   *Policy
	now   time.Time
	uid   uint32
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := Open(filepath.Join(t.TempDir(), "loket.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tmpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: st, now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	f.pol = &Policy{
		Prefix: "PO", Templates: tmpl, Confirm: true, PerRecipientPerDay: 3,
		Mailboxes: map[string]MailboxInfo{
			"ondersteuning": {Name: "ondersteuning", Address: "ondersteuningpassendonderwijs@poraad.nl", DisplayName: "Ondersteuning Passend onderwijs"},
			"praktijktoets": {Name: "praktijktoets", Address: "praktijktoets@ondersteuningpassendonderwijs.nl", DisplayName: "Praktijktoets", Prior: intake.TypePraktijktoets},
		},
		OwnAddresses: []string{"ondersteuningpassendonderwijs@poraad.nl", "praktijktoets@ondersteuningpassendonderwijs.nl"},
		Now:          func() time.Time { return f.now },
	}
	return f
}

func msg(id, from, subject string) *intake.Message {
	return &intake.Message{MessageID: id, From: intake.Address{Name: "Marloes Duinkerk", Address: from}, Subject: subject,
		Text: "Hierbij melden wij ons aan.", Date: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		Header: map[string][]string{"Thread-Index": {"AQHcWZb1kcw8pY3T0k2Zg0x0qk1s9Q=="}}}
}

func (f *fixture) ingest(mailbox string, m *intake.Message, c intake.Classification) IngestResult {
	f.t.Helper()
	f.uid++
	res, err := f.store.Ingest(Inbound{Mailbox: mailbox, UIDValidity: 7, UID: f.uid, Raw: []byte("raw " + m.MessageID), Msg: m, Class: c}, f.pol)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *fixture) ticket(ref string) *Ticket {
	f.t.Helper()
	tk, err := f.store.Ticket(ref)
	if err != nil {
		f.t.Fatal(err)
	}
	return tk
}

func newClass(typ intake.Type) intake.Classification {
	return intake.Classification{Kind: intake.KindNew, Type: typ, Reasons: []intake.Reason{{Rule: "test"}}}
}

func TestIngestNewRequestGetsTicketAndOneConfirmation(t *testing.T) {
	f := newFixture(t)
	m := msg("req-1@swv.example", "m.duinkerk@swv.example", "aanmelding")
	m.References = []string{"older@swv.example"}
	res := f.ingest("praktijktoets", m, newClass(intake.TypePraktijktoets))
	if !res.NewTicket || res.TicketRef != "PO-2026-0001" || res.OutboxID == 0 {
		t.Fatalf("result = %+v", res)
	}
	tk := f.ticket("PO-2026-0001")
	if tk.State != StateAcknowledged || tk.Family != FamilyAppointment || tk.Type != intake.TypePraktijktoets {
		t.Errorf("ticket state/family/type = %s/%s/%s", tk.State, tk.Family, tk.Type)
	}
	if len(tk.Messages) != 2 || tk.Messages[0].Direction != DirIn || tk.Messages[1].Direction != DirOut {
		t.Errorf("messages = %+v", tk.Messages)
	}
	e, err := f.store.OutboxEntry(res.OutboxID)
	if err != nil {
		t.Fatal(err)
	}
	if e.From != "praktijktoets@ondersteuningpassendonderwijs.nl" || e.To[0] != "m.duinkerk@swv.example" {
		t.Errorf("from/to = %s/%v", e.From, e.To)
	}
	if !strings.Contains(e.Subject, "[PO-2026-0001]") || e.InReplyTo != "req-1@swv.example" {
		t.Errorf("subject %q in-reply-to %q", e.Subject, e.InReplyTo)
	}
	if got := strings.Join(e.References, " "); got != "older@swv.example req-1@swv.example" {
		t.Errorf("references = %q", got)
	}
	raw, err := f.store.Raw(e.MessageSeq)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{
		"\r\nAuto-Submitted: auto-replied\r\n", "\r\nX-Auto-Response-Suppress: All\r\n", "\r\nIn-Reply-To: <req-1@swv.example>\r\n",
		"\r\nThread-Topic: aanmelding\r\n", "\r\nThread-Index: AQHcWZb1kcw8pY3T0k2Zg0x0qk1s9",
	} {
		if !strings.Contains("\r\n"+string(raw), h) {
			t.Errorf("sent message lacks %q:\n%s", h, raw)
		}
	}
	sent := intake.Parse(raw)
	if sent.MessageID != e.MessageID || strings.Join(sent.References, " ") != "older@swv.example req-1@swv.example" ||
		sent.Subject != e.Subject || sent.From.Address != e.From || len(sent.Problems) != 0 {
		t.Errorf("sent message parses as %+v", sent)
	}
	if ref, ok := f.store.TicketForMessageID(e.MessageID); !ok || ref != "PO-2026-0001" {
		t.Errorf("our Message-ID not indexed: %q %v", ref, ok)
	}
	pending, _ := f.store.Outbox(true)
	if len(pending) != 1 {
		t.Errorf("pending outbox = %d, want 1", len(pending))
	}
}

func TestIngestDedupeAndCursor(t *testing.T) {
	f := newFixture(t)
	m := msg("req-1@swv.example", "a@swv.example", "Clinic")
	first := f.ingest("ondersteuning", m, newClass(intake.TypeClinic))
	// Same Message-ID again, new UID (e.g. after a UIDVALIDITY change or in the other mailbox).
	dup := f.ingest("praktijktoets", m, newClass(intake.TypeClinic))
	if !dup.Duplicate || dup.NewTicket || dup.OutboxID != 0 || dup.TicketRef != first.TicketRef {
		t.Fatalf("duplicate result = %+v", dup)
	}
	// Same UID again: skipped by the cursor.
	res, err := f.store.Ingest(Inbound{Mailbox: "ondersteuning", UIDValidity: 7, UID: 1, Raw: []byte("x"), Msg: msg("other@x", "b@x.example", "x"), Class: newClass(intake.TypeClinic)}, f.pol)
	if err != nil || !res.Skipped {
		t.Fatalf("replayed UID: %+v %v", res, err)
	}
	c, _ := f.store.Cursor("ondersteuning")
	if c.UIDValidity != 7 || c.LastUID != 1 {
		t.Errorf("cursor = %+v", c)
	}
	st, _ := f.store.Stats()
	if st.Tickets != 1 || st.OutboxPending != 1 {
		t.Errorf("stats = %+v", st)
	}
	tk := f.ticket(first.TicketRef)
	if last := tk.Audit[len(tk.Audit)-1]; last.Action != "duplicate" {
		t.Errorf("no audit entry for the copy in the other mailbox: %+v", last)
	}
}

func TestFollowUpThreadsAndReopens(t *testing.T) {
	f := newFixture(t)
	res := f.ingest("ondersteuning", msg("req@swv.example", "a@swv.example", "Vraag"), newClass(intake.TypeInstrumentarium))
	e, _ := f.store.OutboxEntry(res.OutboxID)
	// Close it by hand (through the table), then a reply to our confirmation arrives.
	if err := f.store.db.Update(func(tx *bolt.Tx) error {
		tk, err := ticketTx(tx, res.TicketRef)
		if err != nil {
			return err
		}
		if err := apply(tk, EventClose, "leider@poraad.nl", "", f.pol.Now); err != nil {
			return err
		}
		return putTicketTx(tx, tk)
	}); err != nil {
		t.Fatal(err)
	}
	reply := msg("reply@swv.example", "a@swv.example", "Re: "+e.Subject)
	fu := f.ingest("ondersteuning", reply, intake.Classification{Kind: intake.KindFollowUp, ThreadMessageID: e.MessageID})
	if fu.TicketRef != res.TicketRef || fu.NewTicket || fu.OutboxID != 0 {
		t.Fatalf("follow-up result = %+v", fu)
	}
	if tk := f.ticket(res.TicketRef); tk.State != StateAcknowledged || len(tk.Messages) != 3 {
		t.Errorf("after follow-up: state %s, %d messages", tk.State, len(tk.Messages))
	}

	// A follow-up naming a ticket that does not exist becomes a new ticket with a note.
	unknown := f.ingest("ondersteuning", msg("x@swv.example", "b@swv.example", "[PO-2026-0999] nog een vraag"),
		intake.Classification{Kind: intake.KindFollowUp, TicketRef: "PO-2026-0999", Type: intake.TypeOverig})
	if !unknown.NewTicket || unknown.TicketRef != "PO-2026-0002" {
		t.Fatalf("unknown-ref follow-up = %+v", unknown)
	}
	if tk := f.ticket(unknown.TicketRef); len(tk.Flags) == 0 || !strings.Contains(tk.Flags[0], "PO-2026-0999") {
		t.Errorf("flags = %v", tk.Flags)
	}
}

func TestAutoRepliesAndBouncesAreNeverAnswered(t *testing.T) {
	f := newFixture(t)
	res := f.ingest("ondersteuning", msg("req@swv.example", "a@swv.example", "Clinic"), newClass(intake.TypeClinic))
	e, _ := f.store.OutboxEntry(res.OutboxID)

	ooo := f.ingest("ondersteuning", msg("ooo@swv.example", "a@swv.example", "Automatisch antwoord: "+e.Subject),
		intake.Classification{Kind: intake.KindAutoReply, ThreadMessageID: e.MessageID, TicketRef: res.TicketRef})
	if ooo.TicketRef != res.TicketRef || ooo.OutboxID != 0 || ooo.NewTicket {
		t.Errorf("auto-reply result = %+v", ooo)
	}
	bounce := f.ingest("ondersteuning", msg("dsn@mx.example", "mailer-daemon@mx.example", "Undelivered Mail"),
		intake.Classification{Kind: intake.KindBounce, ThreadMessageID: e.MessageID})
	if bounce.TicketRef != res.TicketRef || bounce.OutboxID != 0 {
		t.Errorf("bounce result = %+v", bounce)
	}
	if tk := f.ticket(res.TicketRef); !tk.Bounced {
		t.Error("ticket not flagged as bounced")
	}
	lost := f.ingest("ondersteuning", msg("ooo2@elsewhere.example", "x@elsewhere.example", "Out of office"),
		intake.Classification{Kind: intake.KindAutoReply})
	if !lost.Unmatched || lost.TicketRef != "" {
		t.Errorf("unmatched auto-reply = %+v", lost)
	}
	un, _ := f.store.Unmatched()
	if len(un) != 1 || un[0].Message.MessageID != "ooo2@elsewhere.example" {
		t.Errorf("unmatched = %+v", un)
	}
	pending, _ := f.store.Outbox(true)
	if len(pending) != 1 {
		t.Errorf("outbox has %d entries, want only the first confirmation", len(pending))
	}
}

func TestNoConfirmationTo(t *testing.T) {
	cases := []struct {
		name   string
		from   string
		header map[string][]string
		want   string
	}{
		{"noreply", "noreply@gemeente.example", nil, "neemt geen antwoord aan"},
		{"no-reply with suffix", "no-reply-notifications@x.example", nil, "neemt geen antwoord aan"},
		{"mailer-daemon", "MAILER-DAEMON@mx.example", nil, "neemt geen antwoord aan"},
		{"postmaster", "postmaster@mx.example", nil, "neemt geen antwoord aan"},
		{"our own address", "praktijktoets@ondersteuningpassendonderwijs.nl", nil, "eigen adres"},
		{"null return path", "a@swv.example", map[string][]string{"Return-Path": {"<>"}}, "Return-Path"},
		{"auto-submitted", "a@swv.example", map[string][]string{"Auto-Submitted": {"auto-generated"}}, "Auto-Submitted"},
		{"garbage address", "not an address", nil, "geen geldig adres"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			m := msg("id-"+c.name+"@x", strings.ToLower(c.from), "aanmelding")
			m.Header = c.header
			res := f.ingest("praktijktoets", m, newClass(intake.TypePraktijktoets))
			if !res.NewTicket || res.OutboxID != 0 || !strings.Contains(res.NoConfirmation, c.want) {
				t.Fatalf("result = %+v, want no confirmation because %q", res, c.want)
			}
			if tk := f.ticket(res.TicketRef); tk.State != StateNew {
				t.Errorf("state = %s, want new (nobody acknowledged it)", tk.State)
			}
		})
	}
}

func TestPerRecipientLimitAndYearCounter(t *testing.T) {
	f := newFixture(t)
	var sent int
	for i := range 5 {
		res := f.ingest("ondersteuning", msg("r"+string(rune('a'+i))+"@x", "loop@swv.example", "vraag"), newClass(intake.TypeOverig))
		if res.OutboxID != 0 {
			sent++
		}
	}
	if sent != 3 {
		t.Errorf("sent %d confirmations to one address, want the limit 3", sent)
	}
	f.now = f.now.Add(25 * time.Hour)
	if res := f.ingest("ondersteuning", msg("later@x", "loop@swv.example", "vraag"), newClass(intake.TypeOverig)); res.OutboxID == 0 {
		t.Errorf("limit did not expire after 24 h: %+v", res)
	}
	f.now = time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC)
	if res := f.ingest("ondersteuning", msg("ny@x", "n@swv.example", "vraag"), newClass(intake.TypeOverig)); res.TicketRef != "PO-2027-0001" {
		t.Errorf("first ticket of 2027 = %s", res.TicketRef)
	}
}

// TestIngestIsAtomic proves the crash point "before commit": when the
// transaction fails at its end, nothing of the message is stored and the
// cursor does not move, so the message is fetched and handled again.
func TestIngestIsAtomic(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("disk full")
	err := f.store.db.Update(func(tx *bolt.Tx) error {
		var res IngestResult
		if err := ingestTx(tx, Inbound{Mailbox: "ondersteuning", UIDValidity: 7, UID: 1, Raw: []byte("r"),
			Msg: msg("a@x", "a@swv.example", "Clinic"), Class: newClass(intake.TypeClinic)}, f.pol, &res); err != nil {
			return err
		}
		if res.OutboxID == 0 {
			t.Error("setup: no confirmation queued")
		}
		return boom // the crash: the transaction never commits
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	st, _ := f.store.Stats()
	c, _ := f.store.Cursor("ondersteuning")
	if st.Tickets != 0 || st.Messages != 0 || st.OutboxPending != 0 || c.LastUID != 0 {
		t.Fatalf("partial state after a failed transaction: %+v cursor %+v", st, c)
	}
	if _, ok := f.store.TicketForMessageID("a@x"); ok {
		t.Fatal("Message-ID indexed after a failed transaction")
	}
	// Handled again after "restart": exactly one ticket, one confirmation.
	f.uid = 0
	res := f.ingest("ondersteuning", msg("a@x", "a@swv.example", "Clinic"), newClass(intake.TypeClinic))
	if res.TicketRef != "PO-2026-0001" || res.OutboxID == 0 {
		t.Fatalf("retry = %+v", res)
	}
}

func TestStateTable(t *testing.T) {
	tk := &Ticket{Ref: "PO-2026-0001", Family: FamilyRegistration, State: StateNew}
	now := func() time.Time { return time.Unix(0, 0) }
	if err := apply(tk, EventAcknowledge, "loket", "", now); err != nil || tk.State != StateRegistered {
		t.Fatalf("acknowledge: %v, state %s", err, tk.State)
	}
	err := apply(tk, EventAcknowledge, "loket", "", now)
	var ie *IllegalEventError
	if !errors.As(err, &ie) || len(ie.Allowed) == 0 || !strings.Contains(err.Error(), "cancel") {
		t.Fatalf("illegal event error = %v", err)
	}
	if len(tk.Audit) != 1 || !strings.Contains(tk.Audit[0].Detail, "new → registered") {
		t.Errorf("audit = %+v", tk.Audit)
	}
	// Every family's table only names states and events it can reach.
	for fam, states := range transitions {
		for st, evs := range states {
			for ev, tr := range evs {
				if _, ok := states[tr.Next]; !ok && tr.Next != StateCancelled && tr.Next != StateClosed && tr.Next != stateResume {
					t.Errorf("%s: %s --%s--> %s: no row for the next state", fam, st, ev, tr.Next)
				}
			}
		}
	}
}

func TestThreadIndex(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	fresh := threadIndex("", now)
	if len(fresh) != 32 { // 22 bytes base64
		t.Errorf("new Thread-Index %q has length %d", fresh, len(fresh))
	}
	child := threadIndex(fresh, now.Add(time.Hour))
	if !strings.HasPrefix(child, fresh[:28]) || len(child) != 36 { // 27 bytes
		t.Errorf("child %q of %q", child, fresh)
	}
	if got := threadTopic("RE: AW: Fwd: Aanmelding\r\npraktijktoets"); got != "Aanmelding praktijktoets" {
		t.Errorf("threadTopic = %q", got)
	}
}

func TestRetypeKeepsCorrection(t *testing.T) {
	f := newFixture(t)
	res := f.ingest("praktijktoets", msg("req@x", "a@swv.example", "Vraag"), newClass(intake.TypePraktijktoets))
	tk, err := f.store.Retype(res.TicketRef, intake.TypeWerkbijeenkomst, "leider@poraad.nl", "is een aanmelding", f.now)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Type != intake.TypeWerkbijeenkomst || tk.Family != FamilyRegistration || tk.State != StateRegistered {
		t.Errorf("after retype: %s %s %s", tk.Type, tk.Family, tk.State)
	}
	if last := tk.Audit[len(tk.Audit)-1]; last.Actor != "leider@poraad.nl" || !strings.Contains(last.Detail, "praktijktoets → werkbijeenkomst") {
		t.Errorf("audit = %+v", last)
	}
	cs, _ := f.store.Corrections()
	if len(cs) != 1 || cs[0].From != intake.TypePraktijktoets || cs[0].To != intake.TypeWerkbijeenkomst || cs[0].MessageSeq == 0 {
		t.Errorf("corrections = %+v", cs)
	}
	var ute *UnknownTypeError
	if _, err := f.store.Retype(res.TicketRef, "nonsense", "x", "", f.now); !errors.As(err, &ute) {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := f.store.Retype("PO-2026-9999", intake.TypeClinic, "x", "", f.now); !IsNotFound(err) {
		t.Errorf("unknown ticket: %v", err)
	}
}

// TestSpliceTicketJSON: a ticket encoded with its classification's JSON
// worked out before (classJSON) is byte for byte the ticket encoded whole
// by encoding/json, also when its strings look like JSON.
func TestSpliceTicketJSON(t *testing.T) {
	zero, err := json.Marshal(intake.Classification{})
	if err != nil {
		t.Fatal(err)
	}
	trick := `,"classification":` + string(zero)
	for _, tk := range []*Ticket{
		{Ref: "PO-2026-0001", Subject: "Clinic", Created: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
			Classification: intake.Classification{Kind: intake.KindNew, Type: intake.TypeClinic, Confidence: 0.7,
				Reasons: []intake.Reason{{Rule: "type:clinic", Weight: 2}}, Candidates: []intake.Candidate{{Type: intake.TypeClinic, Score: 2}}}},
		{Ref: trick, Mailbox: trick, MailboxAddress: trick, Subject: trick, Requester: intake.Address{Name: trick, Address: trick},
			Org: trick, Phone: trick, Classification: intake.Classification{Kind: intake.KindFollowUp, Org: trick},
			Messages: []MessageRef{{Subject: trick}}, Audit: []AuditEntry{{Detail: trick}}, Flags: []string{trick}},
		{Ref: "PO-2026-0002"}, // an empty classification spliced for an empty one
	} {
		whole, err := json.Marshal(tk)
		if err != nil {
			t.Fatal(err)
		}
		if tk.classJSON, err = json.Marshal(&tk.Classification); err != nil {
			t.Fatal(err)
		}
		got, err := marshalTicket(tk)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, whole) {
			t.Errorf("%s:\nspliced %s\nwhole   %s", tk.Ref, got, whole)
		}
	}
}

// TestIngestBatchCountersAndDuplicates: a batch keeps the ticket counters
// and its buckets for the transaction (ingestCache); what it stores is
// what Ingest one by one stores: consecutive references per year, also
// when the year turns within the batch, the counters as the last ticket
// left them, and a Message-ID seen earlier in the same batch a duplicate.
func TestIngestBatchCountersAndDuplicates(t *testing.T) {
	f := newFixture(t)
	f.pol.Confirm = false
	calls := 0
	f.pol.Now = func() time.Time { // one call per message
		calls++
		if calls > 3 {
			return time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)
		}
		return f.now
	}
	var ins []Inbound
	for i, id := range []string{"a@x", "b@x", "c@x", "d@x", "b@x", "e@x"} {
		ins = append(ins, Inbound{Mailbox: "ondersteuning", UIDValidity: 7, UID: uint32(i + 1), Raw: []byte("raw " + id),
			Msg: msg(id, "r"+id, "vraag"), Class: newClass(intake.TypeOverig)})
	}
	res, err := f.store.IngestBatch(ins, f.pol)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PO-2026-0001", "PO-2026-0002", "PO-2026-0003", "PO-2027-0001", "PO-2026-0002", "PO-2027-0002"}
	for i, r := range res {
		if r.TicketRef != want[i] || r.Duplicate != (i == 4) || r.NewTicket == (i == 4) {
			t.Errorf("message %d: %+v, want ticket %s", i, r, want[i])
		}
	}
	if res[4].Seq != res[1].Seq {
		t.Errorf("duplicate has seq %d, its first %d", res[4].Seq, res[1].Seq)
	}
	_ = f.store.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCounters)
		if n26, n27 := btoi(b.Get([]byte("ticket/2026"))), btoi(b.Get([]byte("ticket/2027"))); n26 != 3 || n27 != 2 {
			t.Errorf("counters 2026 %d, 2027 %d; want 3 and 2", n26, n27)
		}
		if c, err := cursorTx(tx, "ondersteuning"); err != nil || c.LastUID != 6 {
			t.Errorf("cursor %+v, %v", c, err)
		}
		return nil
	})
	f.pol.Now = func() time.Time { return time.Date(2027, 1, 2, 9, 0, 0, 0, time.UTC) }
	f.uid = 6 // after the batch's
	if r := f.ingest("ondersteuning", msg("f@x", "rf@x", "vraag"), newClass(intake.TypeOverig)); r.TicketRef != "PO-2027-0003" {
		t.Errorf("next ticket after the batch: %s", r.TicketRef)
	}
	for i, ref := range []string{"PO-2026-0001", "PO-2027-0002"} {
		tk := f.ticket(ref)
		if len(tk.Messages) != 1 || tk.Messages[0].Seq != res[[]int{0, 5}[i]].Seq || len(tk.Audit) != 2 {
			t.Errorf("ticket %s: %+v", ref, tk)
		}
	}
}
