package app

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
)

func TestReadyz(t *testing.T) {
	e := newOpsEnv(t)
	e.ingest(t, "ondersteuning", "ondersteuning-01-clinic.eml") // one confirmation queued
	now := time.Now()
	e.ready.now = func() time.Time { return now }
	last := map[string]time.Time{"ondersteuning": now.Add(-30 * time.Second), "praktijktoets": now.Add(-2 * time.Minute)}
	for name := range e.ready.pollers {
		e.ready.pollers[name] = func() intake.PollerStatus {
			return intake.PollerStatus{Mailbox: name, Connected: true, LastPoll: last[name], LastError: "old trouble", LastErrorAt: now.Add(-time.Hour)}
		}
	}
	check := func(wantStatus int, wantProblems ...string) {
		t.Helper()
		status, body := e.get(t, "/readyz")
		if status != wantStatus {
			t.Errorf("status %d, want %d\n%s", status, wantStatus, body)
		}
		var r Readiness
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		if r.Ready != (wantStatus == http.StatusOK) || len(r.Problems) != len(wantProblems) {
			t.Errorf("ready %v, problems %q; want %q", r.Ready, r.Problems, wantProblems)
			return
		}
		for i, want := range wantProblems {
			if !strings.Contains(r.Problems[i], want) {
				t.Errorf("problem %q lacks %q", r.Problems[i], want)
			}
		}
	}
	check(http.StatusOK)

	// Three poll intervals (1m each) without a complete pass.
	last["praktijktoets"] = now.Add(-4 * time.Minute)
	check(http.StatusServiceUnavailable, "mailbox praktijktoets: last complete pass 4m0s ago (limit 3m0s)")

	// Two hours on, every mailbox polls but the confirmation still waits.
	now = now.Add(2 * time.Hour)
	last["ondersteuning"], last["praktijktoets"] = now, now
	check(http.StatusServiceUnavailable, "outbox: oldest pending mail waits 2h")

	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	check(http.StatusServiceUnavailable, "store: database not open", "outbox:")
}
