package web

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/templates"
	"github.com/poraad/loket/workflow"
)

const testToken = "test-token-0123456789"

func newTestAPI(t *testing.T) (*httptest.Server, *workflow.Store) {
	t.Helper()
	st, err := workflow.Open(filepath.Join(t.TempDir(), "loket.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tmpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	pol := &workflow.Policy{Prefix: "PO", Templates: tmpl, Confirm: true, PerRecipientPerDay: 5,
		Mailboxes: map[string]workflow.MailboxInfo{"ondersteuning": {Name: "ondersteuning", Address: "o@poraad.example"}},
		Now:       func() time.Time { return time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) }}
	for i, typ := range []intake.Type{intake.TypeClinic, intake.TypeTraining} {
		m := &intake.Message{MessageID: "m" + string(rune('0'+i)) + "@x", From: intake.Address{Address: "a@swv.example"}, Subject: "<script>alert(1)</script>"}
		if _, err := st.Ingest(workflow.Inbound{Mailbox: "ondersteuning", UID: uint32(i + 1), UIDValidity: 1, Raw: []byte("raw"), Msg: m,
			Class: intake.Classification{Kind: intake.KindNew, Type: typ}}, pol); err != nil {
			t.Fatal(err)
		}
	}
	api := &API{Store: st, Token: testToken, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return srv, st
}

func call(t *testing.T, srv *httptest.Server, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || strings.HasPrefix(path, "/api/") {
		if !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "message/rfc822") {
			t.Errorf("%s %s: content type %q", method, path, ct)
		}
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s %s: no nosniff header", method, path)
	}
	return resp.StatusCode, string(b)
}

func TestAPIAuth(t *testing.T) {
	srv, _ := newTestAPI(t)
	for _, tok := range []string{"", "wrong", testToken + "x", strings.ToUpper(testToken)} {
		if code, _ := call(t, srv, "GET", "/api/v1/tickets", tok, ""); code != http.StatusUnauthorized {
			t.Errorf("token %q: status %d, want 401", tok, code)
		}
	}
	if code, _ := call(t, srv, "GET", "/healthz", "", ""); code != 200 {
		t.Errorf("healthz without token: %d", code)
	}
}

func TestAPITicketsAndFilters(t *testing.T) {
	srv, _ := newTestAPI(t)
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"PO-2026-0002", "PO-2026-0001"}},
		{"?type=clinic", []string{"PO-2026-0001"}},
		{"?state=registered", []string{"PO-2026-0002"}},
		{"?mailbox=praktijktoets", nil},
	}
	for _, c := range cases {
		code, body := call(t, srv, "GET", "/api/v1/tickets"+c.query, testToken, "")
		if code != 200 {
			t.Fatalf("%s: %d %s", c.query, code, body)
		}
		var out TicketList
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		var refs []string
		for _, tk := range out.Tickets {
			refs = append(refs, tk.Ref)
			if tk.Messages != 2 || tk.RequesterAddress != "a@swv.example" || len(tk.AllowedEvents) == 0 {
				t.Errorf("%s: ticket %+v", c.query, tk)
			}
		}
		if strings.Join(refs, ",") != strings.Join(c.want, ",") || out.Total != len(c.want) {
			t.Errorf("%s: refs %v (total %d), want %v", c.query, refs, out.Total, c.want)
		}
	}
	code, body := call(t, srv, "GET", "/api/v1/tickets/po-2026-0001", testToken, "")
	if code != 200 || !strings.Contains(body, `"audit"`) || !strings.Contains(body, `"allowed_events"`) {
		t.Errorf("detail: %d %s", code, body)
	}
	if strings.Contains(body, "<script>") {
		t.Error("JSON carries an unescaped <script>")
	}
	if code, _ := call(t, srv, "GET", "/api/v1/tickets/PO-2026-0404", testToken, ""); code != 404 {
		t.Errorf("unknown ticket: %d", code)
	}
	if code, body := call(t, srv, "GET", "/api/v1/unmatched", testToken, ""); code != 200 || !strings.Contains(body, `"messages": []`) {
		t.Errorf("unmatched: %d %s", code, body)
	}
}

func TestAPIRetype(t *testing.T) {
	srv, st := newTestAPI(t)
	code, body := call(t, srv, "POST", "/api/v1/tickets/PO-2026-0001/type", testToken, `{"type":"maatwerkbijeenkomst","by":"leider@poraad.nl"}`)
	if code != 200 || !strings.Contains(body, `"type": "maatwerkbijeenkomst"`) {
		t.Fatalf("retype: %d %s", code, body)
	}
	if c, err := st.Correction("PO-2026-0001"); err != nil || c.From != intake.TypeClinic || c.By != "leider@poraad.nl" {
		t.Errorf("correction = %+v %v", c, err)
	}
	for _, bad := range []string{`{"type":"nope"}`, `{"typo":"clinic"}`, `not json`} {
		if code, _ := call(t, srv, "POST", "/api/v1/tickets/PO-2026-0001/type", testToken, bad); code != 400 {
			t.Errorf("body %s: %d, want 400", bad, code)
		}
	}
	if code, _ := call(t, srv, "POST", "/api/v1/tickets/PO-2026-0001/type", "", `{"type":"clinic"}`); code != 401 {
		t.Errorf("retype without token: %d", code)
	}
}
