package web

import (
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/workflow"
)

// BenchmarkAPITicketsList runs GET /api/v1/tickets over a store of 100 000
// tickets, all new, 20 of them in a mailbox of their own, as an API
// client asks for it; and /healthz, which must not read every ticket.
func BenchmarkAPITicketsList(b *testing.B) {
	const n = 100_000
	st, err := workflow.Open(filepath.Join(b.TempDir(), "loket.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	t0 := time.Now()
	fillStore(b, st, n)
	b.Logf("generated %d tickets in %s", n, time.Since(t0).Round(time.Millisecond))
	// 20 tickets of a third mailbox.
	pol := &workflow.Policy{Prefix: "PO", Mailboxes: map[string]workflow.MailboxInfo{
		"klein": {Name: "klein", Address: "klein@poraad.example"},
	}, Now: func() time.Time { return time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC) }}
	var ins []workflow.Inbound
	for i := range 20 {
		m := &intake.Message{MessageID: fmt.Sprintf("klein-%d@swv.example", i), Subject: "Vraag",
			From: intake.Address{Address: fmt.Sprintf("klein%d@swv.example", i)}, Text: "Een vraag.", Date: pol.Now()}
		ins = append(ins, workflow.Inbound{Mailbox: "klein", Msg: m, Raw: []byte("Subject: Vraag\r\n\r\nEen vraag."),
			Class: intake.Classification{Kind: intake.KindNew, Type: intake.TypeOverig}})
	}
	if _, err := st.IngestBatch(ins, pol); err != nil {
		b.Fatal(err)
	}
	t0 = time.Now()
	if err := st.WarmIndex(); err != nil {
		b.Fatal(err)
	}
	b.Logf("built the in-memory index in %s", time.Since(t0).Round(time.Millisecond))
	h := (&API{Store: st, Token: testToken, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()

	for _, q := range []struct{ name, path string }{
		{"state-new", "/api/v1/tickets?state=new"},       // all match
		{"mailbox-few", "/api/v1/tickets?mailbox=klein"}, // 20 match
		{"state-closed", "/api/v1/tickets?state=closed"}, // none match
		{"state-new-offset-50000", "/api/v1/tickets?state=new&offset=50000"},
		{"healthz", "/healthz"},
	} {
		b.Run(q.name, func(b *testing.B) {
			get := func() *httptest.ResponseRecorder {
				req := httptest.NewRequest("GET", q.path, nil)
				req.Header.Set("Authorization", "Bearer "+testToken)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec
			}
			if rec := get(); rec.Code != 200 {
				b.Fatalf("status %d: %.200s", rec.Code, rec.Body.String())
			}
			for b.Loop() {
				get()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}
