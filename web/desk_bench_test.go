package web

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/workflow"
)

// benchWords are the words generated mail is made of.
var benchWords = strings.Fields(`aanmelding clinic ondersteuningsplan financiën governance samenwerkingsverband
	bestuur school leerling ouders gemeente jeugdhulp passend onderwijs toelaatbaarheidsverklaring
	ontwikkelingsperspectief medezeggenschap ondersteuningsplanraad kwartiermaker directeur vso
	spiegelteam praktijktoets bijeenkomst training tweedaagse voorbeeld nieuwsbrief website vraag
	handreiking geschillenregeling protocol medicijnen bezwaar afspraak datum locatie dinsdag donderdag
	middag ochtend graag vriendelijke groet met hartelijke groeten wij willen vragen over het de een
	thuiszitters arrangement begroting reserves verantwoording toezicht intern extern audit regio`)

var benchOrgs = []string{"SWV Duinstreek", "SWV Rivierenland", "SWV Veluwe", "SWV Zuid-Limburg", "SWV Amsterdam-Diemen",
	"SWV Groningen Ommelanden", "Stichting Openbaar Onderwijs", "OPR Midden-Holland", "Gemeente Utrecht", "SWV De Kempen"}

// fillStore ingests n generated requests in batches, like intake would.
func fillStore(tb testing.TB, st *workflow.Store, n int) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	pol := &workflow.Policy{Prefix: "PO", Mailboxes: map[string]workflow.MailboxInfo{
		"ondersteuning": {Name: "ondersteuning", Address: "ondersteuningpassendonderwijs@poraad.nl"},
		"praktijktoets": {Name: "praktijktoets", Address: "praktijktoets@ondersteuningpassendonderwijs.nl"},
	}, Now: func() time.Time { return now }}
	words := func(k int) string {
		var b strings.Builder
		for i := range k {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(benchWords[rng.IntN(len(benchWords))])
		}
		return b.String()
	}
	const batch = 5000
	for start := 0; start < n; start += batch {
		var ins []workflow.Inbound
		for i := start; i < min(n, start+batch); i++ {
			now = now.Add(7 * time.Minute)
			mailbox := "ondersteuning"
			typ := intake.Types[rng.IntN(len(intake.Types))]
			if typ == intake.TypePraktijktoets {
				mailbox = "praktijktoets"
			}
			org := benchOrgs[rng.IntN(len(benchOrgs))]
			m := &intake.Message{MessageID: fmt.Sprintf("gen-%d@swv.example", i), Subject: "Verzoek " + words(4),
				From: intake.Address{Name: "Aanvrager " + fmt.Sprint(i), Address: fmt.Sprintf("aanvrager%d@swv%d.example", i, i%500)},
				Text: words(120) + "\n\nMet vriendelijke groet,\n" + org, Date: now}
			ins = append(ins, workflow.Inbound{Mailbox: mailbox, Msg: m, Raw: []byte("Subject: gen\r\n\r\n" + m.Text),
				Class: intake.Classification{Kind: intake.KindNew, Type: typ, Org: org}})
		}
		if _, err := st.IngestBatch(ins, pol); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkQueuePage renders the queue page over a store of 100 000
// tickets, as a logged-in leader's browser asks for it.
func BenchmarkQueuePage(b *testing.B) {
	const n = 100_000
	st, err := workflow.Open(filepath.Join(b.TempDir(), "loket.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	t0 := time.Now()
	fillStore(b, st, n)
	b.Logf("generated %d tickets in %s", n, time.Since(t0).Round(time.Millisecond))
	if _, err := st.PutUser("Bench", "bench@poraad.example", "bench-password", time.Now()); err != nil {
		b.Fatal(err)
	}
	id, _, err := st.CreateLoginSession("bench@poraad.example", time.Hour, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	d, err := NewDesk(DeskOptions{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Mailboxes: []string{"ondersteuning", "praktijktoets"}})
	if err != nil {
		b.Fatal(err)
	}
	h := d.Handler()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t0 = time.Now()
	if err := st.WarmIndex(); err != nil {
		b.Fatal(err)
	}
	took := time.Since(t0)
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.Logf("built the in-memory index in %s; it holds about %d MiB", took.Round(time.Millisecond), (int64(after.HeapAlloc)-int64(before.HeapAlloc))>>20)

	for _, q := range []struct{ name, query string }{
		{"open-newest", ""},
		{"oldest-waiting", "sort=wachtend"},
		{"search-word", "q=thuiszitters"},
		{"search-two-words-type", "q=begroting+veluwe&type=clinic"},
		{"search-part-of-word", "q=ondersteunings"},
		{"search-ref", "q=PO-2024-4242"},
		{"all-states-page-100", "status=alle&pagina=100"},
	} {
		b.Run(q.name, func(b *testing.B) {
			get := func() *httptest.ResponseRecorder {
				req := httptest.NewRequest("GET", "/?"+q.query, nil)
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec
			}
			if rec := get(); rec.Code != 200 || !strings.Contains(rec.Body.String(), "<table class=\"queue\">") {
				b.Fatalf("status %d", rec.Code)
			}
			for b.Loop() {
				get()
			}
		})
	}
}
