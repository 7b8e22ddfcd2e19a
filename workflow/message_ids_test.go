package workflow

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/poraad/loket/intake"

	bolt "go.etcd.io/bbolt"
)

// randomMessageID is a Message-ID as real mail has them: random, so that
// consecutive messages sort far apart.
func randomMessageID(i int) []byte {
	return fmt.Appendf(nil, "%s.%d@mail.example.org", randomHex(i), i)
}

// randomHex is 24 hex digits that follow from i and look random.
func randomHex(i int) string {
	h := sha256.Sum256(fmt.Append(nil, i))
	return fmt.Sprintf("%x", h[:12])
}

// idTestDB is a bare bbolt file with the two Message-ID buckets, without
// fsync: these tests count pages, not durability.
func idTestDB(t *testing.T) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "ids.db"), 0o600, &bolt.Options{NoSync: true, PageSize: storePageSize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMessageIDs, bucketMessageIDsRecent} {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return db
}

// putIDs stores IDs from..to-1 (seq i+1 each) in one transaction.
func putIDs(db *bolt.DB, from, to int) error {
	return db.Update(func(tx *bolt.Tx) error {
		ids := messageIDsOf(tx)
		for i := from; i < to; i++ {
			if err := ids.put(randomMessageID(i), itob(uint64(i+1))); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestMessageIDsMerge(t *testing.T) {
	db := idTestDB(t)
	const n, chunk = 12000, 256
	merges := 0
	for from := 0; from < n; from += chunk {
		before := recentCount(t, db)
		if err := putIDs(db, from, min(from+chunk, n)); err != nil {
			t.Fatal(err)
		}
		if recentCount(t, db) < before { // emptied by a merge
			merges++
		}
	}
	if merges < 3 {
		t.Fatalf("%d merges in %d IDs, want several", merges, n)
	}
	// An ID stored again points to its new seq, before and after a merge.
	again := randomMessageID(7)
	check := func(when string) {
		t.Helper()
		if err := db.View(func(tx *bolt.Tx) error {
			ids := messageIDsOf(tx)
			for i := range n {
				want := uint64(i + 1)
				if i == 7 {
					want = 999999
				}
				if got := btoi(ids.get(randomMessageID(i))); got != want {
					return fmt.Errorf("ID %d: seq %d, want %d", i, got, want)
				}
			}
			if v := ids.get([]byte("<absent@example.org>")); v != nil {
				return fmt.Errorf("absent ID found: %x", v)
			}
			// The counts: each ID once, but the one stored again twice.
			main, recent := tx.Bucket(bucketMessageIDs), tx.Bucket(bucketMessageIDsRecent)
			// It is in both trees until the merge.
			if got, keys := main.Sequence()+recent.Sequence(), main.Stats().KeyN+recent.Stats().KeyN; got != n+1 || keys != n && keys != n+1 {
				return fmt.Errorf("trees count %d IDs, hold %d, want %d and %d", got, keys, n+1, n)
			}
			if got := recent.Sequence(); got != uint64(recent.Stats().KeyN) || got >= mergeAt(main.Sequence()) {
				return fmt.Errorf("recent tree counts %d IDs, holds %d, merge at %d", got, recent.Stats().KeyN, mergeAt(main.Sequence()))
			}
			return nil
		}); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		ids := messageIDsOf(tx)
		return ids.put(again, itob(999999))
	}); err != nil {
		t.Fatal(err)
	}
	check("stored again")
	if err := db.Update(func(tx *bolt.Tx) error {
		ids := messageIDsOf(tx)
		return ids.merge()
	}); err != nil {
		t.Fatal(err)
	}
	check("merged")
}

func recentCount(t *testing.T, db *bolt.DB) uint64 {
	t.Helper()
	var n uint64
	db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketMessageIDsRecent).Sequence()
		return nil
	})
	return n
}

// A merge is part of the transaction that passes the mark: when that
// transaction fails, nothing has moved.
func TestMessageIDsMergeRollsBack(t *testing.T) {
	db := idTestDB(t)
	const n = 1000 // below mergeAt(0)
	if err := putIDs(db, 0, n); err != nil {
		t.Fatal(err)
	}
	failed := errors.New("commit fails")
	err := db.Update(func(tx *bolt.Tx) error {
		ids := messageIDsOf(tx)
		for i := n; tx.Bucket(bucketMessageIDs).Sequence() == 0; i++ {
			if err := ids.put(randomMessageID(i), itob(uint64(i+1))); err != nil {
				return err
			}
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("update: %v", err)
	}
	db.View(func(tx *bolt.Tx) error {
		if got := tx.Bucket(bucketMessageIDs).Stats().KeyN; got != 0 {
			t.Errorf("main tree holds %d IDs after the failed merge, want 0", got)
		}
		ids := messageIDsOf(tx)
		for i := range n {
			if btoi(ids.get(randomMessageID(i))) != uint64(i+1) {
				t.Fatalf("ID %d lost after the failed merge", i)
			}
		}
		return nil
	})
}

// The pages a commit of 256 new Message-IDs writes stay about the same as
// the store grows, where one tree of every ID rewrote more and more of its
// pages (about 160 of 16 KB at 50 000).
func TestMessageIDsWritesStayFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100 000 IDs twice")
	}
	const n, chunk = 50000, 256
	// perID returns the bytes of pages allocated per ID by the commits
	// of IDs from..n, for put as each ID's put.
	perID := func(db *bolt.DB, from int, put func(tx *bolt.Tx, i int) error) float64 {
		var before bolt.TxStats
		for start := 0; start < n; start += chunk {
			if start == from {
				before = db.Stats().TxStats
			}
			if err := db.Update(func(tx *bolt.Tx) error {
				for i := start; i < min(start+chunk, n); i++ {
					if err := put(tx, i); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		after := db.Stats().TxStats
		return float64(after.GetPageAlloc()-before.GetPageAlloc()) / float64(n-from)
	}
	two := func(tx *bolt.Tx, i int) error {
		ids := messageIDsOf(tx)
		return ids.put(randomMessageID(i), itob(uint64(i+1)))
	}
	one := func(tx *bolt.Tx, i int) error {
		return tx.Bucket(bucketMessageIDs).Put(randomMessageID(i), itob(uint64(i+1)))
	}
	tail := (n/chunk - 20) * chunk // the last 20 commits
	early, late := perID(idTestDB(t), 0, two), perID(idTestDB(t), tail, two)
	single := perID(idTestDB(t), tail, one)
	t.Logf("bytes of pages per ID: two trees %.0f over all, %.0f at the end; one tree %.0f at the end", early, late, single)
	if late > 4*single/10 {
		t.Errorf("two trees write %.0f bytes an ID at %d IDs, one tree %.0f: want under 40 %%", late, n, single)
	}
	if late > 3000 {
		t.Errorf("two trees write %.0f bytes an ID at %d IDs, want under 3 000", late, n)
	}
}

// TestUpgradeFromSchema1 opens a store as Loket wrote it before the recent
// tree (schema 1: every Message-ID in message_ids, no count): its backup
// checks out, Open upgrades it, a message taken before is still known by
// its Message-ID (no second ticket), and a newer store is refused.
func TestUpgradeFromSchema1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loket.db")
	pol := newFixture(t).pol
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	in := Inbound{Mailbox: "ondersteuning", UIDValidity: 1, UID: 1, Raw: []byte("raw"), Msg: msg("old@swv.example", "a@swv.example", "Clinic"), Class: newClass(intake.TypeClinic)}
	if _, err := st.Ingest(in, pol); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// Back to schema 1: the ID in the main tree, uncounted, and no recent tree.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		ids := messageIDsOf(tx)
		if err := ids.merge(); err != nil {
			return err
		}
		if err := tx.Bucket(bucketMessageIDs).SetSequence(0); err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketMessageIDsRecent); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put([]byte("schema"), itob(1))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	if info, err := CheckBackup(path); err != nil || info.Schema != 1 {
		t.Fatalf("CheckBackup of a schema 1 store: %+v, %v", info, err)
	}
	st, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	in.UID = 2 // the same message again, as after a UIDVALIDITY change
	res, err := st.Ingest(in, pol)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Duplicate {
		t.Errorf("the message of the schema 1 store taken again: %+v", res)
	}
	if err := st.db.View(func(tx *bolt.Tx) error {
		if v := btoi(tx.Bucket(bucketMeta).Get([]byte("schema"))); v != schemaVersion {
			t.Errorf("schema %d after Open, want %d", v, schemaVersion)
		}
		// The request and its confirmation.
		if n, keys := tx.Bucket(bucketMessageIDs).Sequence(), tx.Bucket(bucketMessageIDs).Stats().KeyN; n != 2 || keys != 2 {
			t.Errorf("main tree counts %d IDs after the upgrade and holds %d, want 2", n, keys)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if info, err := CheckBackup(path); err != nil || info.Schema != schemaVersion {
		t.Fatalf("CheckBackup after the upgrade: %+v, %v", info, err)
	}

	// A store of a later schema is left alone.
	db, err = bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put([]byte("schema"), itob(schemaVersion+1)) })
	db.Close()
	if st, err := Open(path); err == nil {
		st.Close()
		t.Fatal("Open took a store of a newer schema")
	}
}

// Two views of one transaction (an ingest and the confirmation it stores
// each have one): after one merges, which replaces the recent tree's
// bucket, the other still finds and stores IDs.
func TestMessageIDsTwoViewsOfATransaction(t *testing.T) {
	db := idTestDB(t)
	if err := db.Update(func(tx *bolt.Tx) error {
		a, b := messageIDsOf(tx), messageIDsOf(tx)
		if err := a.put(randomMessageID(0), itob(1)); err != nil {
			return err
		}
		if a.get(randomMessageID(0)) == nil { // a's cursor on the recent tree
			return errors.New("ID 0 not found")
		}
		i := 1
		for ; tx.Bucket(bucketMessageIDs).Sequence() == 0; i++ { // b merges
			if err := b.put(randomMessageID(i), itob(uint64(i+1))); err != nil {
				return err
			}
		}
		if err := a.put(randomMessageID(i), itob(uint64(i+1))); err != nil {
			return err
		}
		for j := 0; j <= i; j++ {
			for _, v := range []*messageIDs{&a, &b} {
				if got := btoi(v.get(randomMessageID(j))); got != uint64(j+1) {
					return fmt.Errorf("ID %d: seq %d, want %d", j, got, j+1)
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestIngestAcrossMerges takes 1 500 new requests with random Message-IDs
// in batches, each confirmed in the same transaction (a second view of the
// Message-ID index), across several merges: every request and every
// confirmation is found by its Message-ID on its ticket, and each request
// taken again is a duplicate.
func TestIngestAcrossMerges(t *testing.T) {
	f := newFixture(t)
	const n, batch = 1500, 250
	refs := map[string]string{} // request Message-ID -> ticket
	for from := 0; from < n; from += batch {
		var ins []Inbound
		for i := from; i < from+batch; i++ {
			m := msg(string(randomMessageID(i)), fmt.Sprintf("a%d@swv.example", i), "Clinic")
			ins = append(ins, Inbound{Mailbox: "ondersteuning", UIDValidity: 1, UID: uint32(i + 1), Raw: []byte("raw"), Msg: m, Class: newClass(intake.TypeClinic)})
		}
		res, err := f.store.IngestBatch(ins, f.pol)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if !r.NewTicket || r.TicketRef == "" {
				t.Fatalf("message %d: %+v", from+i, r)
			}
			refs[ins[i].Msg.MessageID] = r.TicketRef
		}
	}
	if err := f.store.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMessageIDs).Sequence() < 2*mergeAt(0) {
			t.Errorf("%d IDs merged, want several merges", tx.Bucket(bucketMessageIDs).Sequence())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	confirmations := 0
	for id, ref := range refs {
		tk, err := f.store.Ticket(ref)
		if err != nil {
			t.Fatal(err)
		}
		for _, mid := range tk.MessageIDs() {
			if got, ok := f.store.TicketForMessageID(mid); !ok || got != ref {
				t.Fatalf("Message-ID %s of %s found on %q", mid, ref, got)
			}
			if mid != id {
				confirmations++
			}
		}
	}
	if confirmations != n {
		t.Errorf("%d confirmations found by Message-ID, want %d", confirmations, n)
	}
	var again []Inbound
	for i := range 10 {
		again = append(again, Inbound{Mailbox: "ondersteuning", UIDValidity: 2, UID: uint32(i + 1), Raw: []byte("raw"),
			Msg: msg(string(randomMessageID(i*150)), fmt.Sprintf("a%d@swv.example", i*150), "Clinic"), Class: newClass(intake.TypeClinic)})
	}
	res, err := f.store.IngestBatch(again, f.pol)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if !r.Duplicate {
			t.Errorf("request %d taken again: %+v", i*150, r)
		}
	}
}
