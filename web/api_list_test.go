package web

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/workflow"
)

// newListAPI serves a store of n tickets, one a minute: PO-2026-0001 the
// oldest; the odd ones are clinics, the even ones trainings. add(i) adds
// ticket i a minute after the last; setNow sets the clock.
func newListAPI(t *testing.T, n int) (srv *httptest.Server, add func(i int), setNow func(time.Time)) {
	t.Helper()
	st, err := workflow.Open(filepath.Join(t.TempDir(), "loket.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	pol := &workflow.Policy{Prefix: "PO",
		Mailboxes: map[string]workflow.MailboxInfo{"ondersteuning": {Name: "ondersteuning", Address: "o@poraad.example"}},
		Now:       func() time.Time { return now }}
	add = func(i int) {
		now = now.Add(time.Minute)
		typ := intake.TypeTraining
		if i%2 == 1 {
			typ = intake.TypeClinic
		}
		m := &intake.Message{MessageID: fmt.Sprintf("m%d@x", i), From: intake.Address{Address: "a@swv.example"}, Subject: "Vraag"}
		if _, err := st.Ingest(workflow.Inbound{Mailbox: "ondersteuning", UID: uint32(i), UIDValidity: 1, Raw: []byte("raw"), Msg: m,
			Class: intake.Classification{Kind: intake.KindNew, Type: typ}}, pol); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= n; i++ {
		add(i)
	}
	api := &API{Store: st, Token: testToken, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv = httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return srv, add, func(at time.Time) { now = at }
}

func listPage(t *testing.T, srv *httptest.Server, query string) (TicketList, []string) {
	t.Helper()
	code, body := call(t, srv, "GET", "/api/v1/tickets?"+query, testToken, "")
	if code != 200 {
		t.Fatalf("?%s: %d %s", query, code, body)
	}
	var out TicketList
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, tk := range out.Tickets {
		refs = append(refs, strings.TrimPrefix(tk.Ref, "PO-2026-"))
	}
	return out, refs
}

func TestAPITicketsPages(t *testing.T) {
	srv, _, _ := newListAPI(t, 7)
	cases := []struct {
		query  string
		want   string // refs without "PO-2026-"
		total  int
		offset int
		more   bool // a next_cursor
	}{
		{"", "0007,0006,0005,0004,0003,0002,0001", 7, 0, false},
		{"limit=3", "0007,0006,0005", 7, 0, true},
		{"limit=3&offset=3", "0004,0003,0002", 7, 3, true},
		{"limit=3&offset=6", "0001", 7, 6, false},
		{"offset=7", "", 7, 7, false},
		{"offset=100", "", 7, 7, false},
		{"limit=1000&type=clinic", "0007,0005,0003,0001", 4, 0, false},
		{"type=training&limit=2&offset=1", "0004,0002", 3, 1, false},
		{"state=new&mailbox=ondersteuning&limit=1", "0007", 7, 0, true},
		{"state=closed", "", 0, 0, false},
		{"mailbox=praktijktoets", "", 0, 0, false},
	}
	for _, c := range cases {
		out, refs := listPage(t, srv, c.query)
		if got := strings.Join(refs, ","); got != c.want || out.Total != c.total || out.Offset != c.offset || (out.NextCursor != "") != c.more {
			t.Errorf("?%s: %s total %d offset %d cursor %q; want %s total %d offset %d more %v",
				c.query, got, out.Total, out.Offset, out.NextCursor, c.want, c.total, c.offset, c.more)
		}
		if out.Tickets == nil {
			t.Errorf("?%s: tickets is null, want []", c.query)
		}
	}
}

// TestAPITicketsCursor walks the list with next_cursor while tickets
// arrive: no ticket is skipped or listed twice, the new ones count in total.
func TestAPITicketsCursor(t *testing.T) {
	srv, add, _ := newListAPI(t, 7)
	var all []string
	var offsets []int
	query := "limit=3"
	for page := 0; ; page++ {
		out, refs := listPage(t, srv, query)
		all = append(all, refs...)
		offsets = append(offsets, out.Offset)
		if page == 0 {
			add(8) // newest: before the first page, so not in the walk
		}
		if out.NextCursor == "" {
			if out.Total != 8 {
				t.Errorf("total %d on the last page, want 8", out.Total)
			}
			break
		}
		if page > 5 {
			t.Fatal("no end")
		}
		query = "limit=3&cursor=" + url.QueryEscape(out.NextCursor)
	}
	if got := strings.Join(all, ","); got != "0007,0006,0005,0004,0003,0002,0001" {
		t.Errorf("walked %s", got)
	}
	if fmt.Sprint(offsets) != "[0 4 7]" { // the second page starts after 0008 and the first three
		t.Errorf("offsets %v", offsets)
	}
}

// TestAPITicketsOrder adds tickets created out of order, listing after
// each: the list stays newest first (created, then ref) as the index keeps
// its order up to date.
func TestAPITicketsOrder(t *testing.T) {
	srv, add, setNow := newListAPI(t, 3)
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	created := map[string]time.Time{}
	for i := 1; i <= 3; i++ {
		created[fmt.Sprintf("%04d", i)] = base.Add(time.Duration(i) * time.Minute)
	}
	for i := 4; i <= 90; i++ {
		at := base.Add(time.Duration((i*37)%50) * time.Minute) // out of order, some at the same time
		setNow(at.Add(-time.Minute))                           // add is a minute later
		add(i)
		created[fmt.Sprintf("%04d", i)] = at
		out, refs := listPage(t, srv, "limit=1000")
		if out.Total != i || len(refs) != i {
			t.Fatalf("after %d: total %d, %d listed", i, out.Total, len(refs))
		}
		for k := 1; k < len(refs); k++ {
			a, b := created[refs[k-1]], created[refs[k]]
			if a.Before(b) || a.Equal(b) && refs[k-1] < refs[k] {
				t.Fatalf("after %d: %s (%s) listed before %s (%s)", i, refs[k-1], a, refs[k], b)
			}
		}
	}
}

func TestAPITicketsBadParameters(t *testing.T) {
	srv, _, _ := newListAPI(t, 2)
	cursor := encodeCursor(workflow.QueuePos{Created: time.Now(), Ref: "PO-2026-0001"})
	cases := []struct{ query, want string }{
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"limit=-5", "limit"},
		{"limit=ten", "limit"},
		{"limit=", ""},  // empty: the default
		{"cursor=", ""}, // empty: the first page
		{"offset=-1", "offset"},
		{"offset=1.5", "offset"},
		{"cursor=" + cursor + "&offset=0", "cursor"},
		{"cursor=%21%21", "cursor"},
		{"cursor=" + encodeB64("2026-03-01 "), "cursor"},
		{"cursor=" + encodeB64("yesterday PO-2026-0001"), "cursor"},
		{"state=nieuw", "state"},
		{"type=workshop", "type"},
		{"limt=5", "limt"},
		{"cursor=" + cursor, ""},
	}
	for _, c := range cases {
		code, body := call(t, srv, "GET", "/api/v1/tickets?"+c.query, testToken, "")
		if c.want == "" {
			if code != 200 {
				t.Errorf("?%s: %d %s, want 200", c.query, code, body)
			}
			continue
		}
		var e struct{ Error string }
		_ = json.Unmarshal([]byte(body), &e)
		if code != http.StatusBadRequest || !strings.Contains(e.Error, c.want) {
			t.Errorf("?%s: %d %s; want 400 naming %q", c.query, code, body, c.want)
		}
	}
}

func encodeB64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
