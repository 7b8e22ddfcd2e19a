package workflow

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
)

// TestBackupDuringIntakeAndRestore takes backups while messages are being
// ingested, restores the last one and finds every ticket it promised.
func TestBackupDuringIntakeAndRestore(t *testing.T) {
	f := newFixture(t)
	f.pol.Now = nil
	dir := t.TempDir()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 300 {
			m := msg(fmt.Sprintf("load-%d@x", i), fmt.Sprintf("a%d@swv.example", i), "Clinic")
			if _, err := f.store.Ingest(Inbound{Mailbox: "ondersteuning", UIDValidity: 1, UID: uint32(i + 1), Raw: []byte("raw"), Msg: m, Class: newClass(intake.TypeClinic)}, f.pol); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var last BackupInfo
	for i := range 5 {
		path := filepath.Join(dir, fmt.Sprintf("b%d.db", i))
		if _, err := f.store.BackupFile(path); err != nil {
			t.Fatal(err)
		}
		info, err := CheckBackup(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Tickets < last.Tickets {
			t.Errorf("backup %d has %d tickets, fewer than the one before (%d)", i, info.Tickets, last.Tickets)
		}
		last = info
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()
	final := filepath.Join(dir, "final.db")
	if _, err := f.store.BackupFile(final); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "restored", "loket.db")
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		t.Fatal(err)
	}
	info, kept, err := Restore(final, target, time.Now())
	if err != nil || kept != "" || info.Tickets != 300 {
		t.Fatalf("restore: %+v %q %v", info, kept, err)
	}
	st, err := Open(target)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 300 {
		ref := intake.FormatTicketRef("PO", time.Now().In(amsterdam).Year(), i+1)
		if _, err := st.Ticket(ref); err != nil {
			t.Fatalf("ticket %s missing after restore: %v", ref, err)
		}
	}
	if c, _ := st.Cursor("ondersteuning"); c.LastUID != 300 {
		t.Errorf("cursor after restore = %+v", c)
	}
}

func TestRestoreRefusals(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	if _, err := f.store.BackupFile(good); err != nil {
		t.Fatal(err)
	}
	// A running store (locked) is never replaced.
	if _, _, err := Restore(good, f.store.Path(), time.Now()); !errors.Is(err, ErrStoreInUse) {
		t.Errorf("restore over a store in use: %v", err)
	}
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Restore(junk, filepath.Join(dir, "x.db"), time.Now()); err == nil {
		t.Error("restore of a junk file succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); !os.IsNotExist(err) {
		t.Error("a failed restore left a file behind")
	}
	// Rotation keeps the newest N.
	bdir := filepath.Join(dir, "rot")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		if _, err := f.store.RotateBackups(bdir, 3, base.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(bdir)
	if len(entries) != 3 || entries[0].Name() != "loket-20260101-020000.db" {
		t.Errorf("after rotation: %v", entries)
	}
}
