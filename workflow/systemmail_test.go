package workflow

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestSystemMailIsSentThroughTheOutbox(t *testing.T) {
	f := newFixture(t)
	id, err := f.store.EnqueueSystemMail(SystemMail{Purpose: "alert", FromName: "Loket", From: "ondersteuningpassendonderwijs@poraad.nl",
		To: []string{"beheer@poraad.nl"}, Subject: "[Loket] Probleem: mailbox:ondersteuning", Body: "Mailbox ondersteuning is niet gelezen."}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.EnqueueSystemMail(SystemMail{Subject: "no recipient"}, time.Now()); err == nil {
		t.Error("system mail without a recipient queued")
	}
	oc, err := f.store.OutboxCounts()
	if err != nil || oc.ByStatus[OutboxQueued] != 1 || oc.OldestPending.IsZero() {
		t.Fatalf("outbox counts %+v %v", oc, err)
	}
	srv := startSMTP(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := testSender(f.store, srv).pass(ctx); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 || got[0].To[0] != "beheer@poraad.nl" || !strings.Contains(string(got[0].Data), "Mailbox ondersteuning is niet gelezen.") {
		t.Fatalf("sent %+v", got)
	}
	if e, _ := f.store.OutboxEntry(id); e.Status != OutboxSent || e.TicketRef != "" {
		t.Errorf("entry after send %+v", e)
	}
}
