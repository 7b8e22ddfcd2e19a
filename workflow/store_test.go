package workflow

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
)

// TestOpenPageSize checks that a new store gets storePageSize and that a
// store made with bbolt's 4 KB pages (every store before this page size)
// keeps them and stays usable: bbolt takes the page size from the file.
func TestOpenPageSize(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		before int // page size of a file made before Open; 0: none
		want   int
	}{
		{"new store", 0, storePageSize},
		{"store of 4 KB pages", 4096, 4096},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".db")
			if tc.before != 0 {
				db, err := bolt.Open(path, 0o600, &bolt.Options{PageSize: tc.before})
				if err != nil {
					t.Fatal(err)
				}
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
			}
			for round := range 2 { // made or upgraded, then reopened
				st, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				if got := st.db.Info().PageSize; got != tc.want {
					t.Errorf("round %d: page size %d, want %d", round, got, tc.want)
				}
				pol := newFixture(t).pol
				id := "page-" + tc.name + string(rune('a'+round)) + "@x"
				m := msg(id, "a@swv.example", "Clinic")
				if _, err := st.Ingest(Inbound{Mailbox: "ondersteuning", UIDValidity: 1, UID: uint32(10*i + round + 1), Raw: []byte("raw"), Msg: m, Class: newClass(intake.TypeClinic)}, pol); err != nil {
					t.Fatalf("round %d: ingest: %v", round, err)
				}
				stats, err := st.Stats()
				if err != nil {
					t.Fatal(err)
				}
				if stats.Tickets != round+1 {
					t.Errorf("round %d: %d tickets, want %d", round, stats.Tickets, round+1)
				}
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
