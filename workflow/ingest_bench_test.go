package workflow

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/templates"
)

// BenchmarkIngestBatch measures the serial part of intake: committing
// parsed and classified messages (import-silent, as a backlog) in
// batches of 500, each its own transaction with one fsync, with what
// HandleBatch works out before the commit (words, JSON) worked out
// already. It reports the time and the store's growth per message.
func BenchmarkIngestBatch(b *testing.B) {
	files, _ := filepath.Glob("../intake/testdata/classify/heldout/*.eml")
	if len(files) == 0 {
		b.Skip("no test mail")
	}
	type sample struct {
		raw   []byte
		msg   *intake.Message
		class intake.Classification
		words []byte
	}
	c, err := intake.NewClassifier(intake.ClassifierConfig{})
	if err != nil {
		b.Fatal(err)
	}
	var samples []sample
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		m := intake.Parse(raw)
		if class := c.Classify(m, "", nil); class.Kind == intake.KindNew {
			samples = append(samples, sample{raw, m, class, wordList(m.Text)}) // as loket-bench: new requests only
		}
	}
	path := filepath.Join(b.TempDir(), "loket.db")
	st, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	tmpl, err := templates.Load("")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	pol := &Policy{Prefix: "PO", Templates: tmpl, Now: func() time.Time { return now },
		Mailboxes: map[string]MailboxInfo{"ondersteuning": {Name: "ondersteuning", Address: "ondersteuningpassendonderwijs@poraad.nl"}}}
	const batch = 500
	cpu0 := cpuTime()
	uid := uint32(0)
	ins := make([]Inbound, batch)
	n := 0
	for b.Loop() {
		for i := range ins {
			s := samples[n%len(samples)]
			m := *s.msg
			m.MessageID = string(randomMessageID(n)) // random, as real ones are
			n++
			uid++
			ins[i] = Inbound{Mailbox: "ondersteuning", UIDValidity: 1, UID: uid, Raw: s.raw, Msg: &m, Class: s.class, Backlog: true,
				words: s.words, parsedRaw: true}
			stored, _, _ := storedMessage(ins[i])
			ins[i].msgJSON, _ = marshalMessage(stored) // as HandleBatch does before the commit
			ins[i].classJSON, _ = marshalClassification(&ins[i].Class)
		}
		if _, err := st.IngestBatch(ins, pol); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/msg")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu-µs/msg")
	if testing.Verbose() {
		logBucketSizes(b, st)
	}
	if fi, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(fi.Size())/float64(n), "B/msg")
	}
}

// logBucketSizes logs what each bucket holds (bytes of keys and values in
// use, and allocated), for finding what makes a ticket big.
func logBucketSizes(tb testing.TB, st *Store) {
	_ = st.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			s := b.Stats()
			tb.Logf("%-20s keys %7d leaf in use %10d alloc %10d branch alloc %8d", name, s.KeyN, s.LeafInuse, s.LeafAlloc, s.BranchAlloc)
			return nil
		})
	})
}

// BenchmarkHandleBatch measures intake without IMAP: raw new requests
// handed to Service.HandleBatch in batches of 500 (the poller's default)
// as a backlog, parsed, classified and committed with the pipeline on every
// core. msgs/s is for the whole machine.
func BenchmarkHandleBatch(b *testing.B) {
	files, _ := filepath.Glob("../intake/testdata/classify/heldout/*.eml")
	if len(files) == 0 {
		b.Skip("no test mail")
	}
	c, err := intake.NewClassifier(intake.ClassifierConfig{})
	if err != nil {
		b.Fatal(err)
	}
	var raws [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		// New requests only, as loket-bench fills its mailbox.
		if m := intake.Parse(raw); c.Classify(m, "", nil).Kind == intake.KindNew && bytes.Contains(raw, []byte("Message-ID: <")) {
			raws = append(raws, raw)
		}
	}
	st, err := Open(filepath.Join(b.TempDir(), "loket.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	tmpl, err := templates.Load("")
	if err != nil {
		b.Fatal(err)
	}
	pol := &Policy{Prefix: "PO", Templates: tmpl,
		Mailboxes: map[string]MailboxInfo{"ondersteuning": {Name: "ondersteuning", Address: "ondersteuningpassendonderwijs@poraad.nl"}}}
	svc := &Service{Store: st, Policy: pol, Classifier: c}
	const batch = 500
	fs := make([]intake.Fetched, batch)
	uid, n := uint32(0), 0
	cpu0 := cpuTime()
	for b.Loop() {
		for i := range fs {
			uid++
			raw := raws[n%len(raws)]
			n++
			// Each its own random Message-ID, as in loket-bench.
			raw = bytes.Replace(raw, []byte("Message-ID: <"), fmt.Appendf(nil, "Message-ID: <%s.", randomHex(n)), 1)
			fs[i] = intake.Fetched{Mailbox: "ondersteuning", UIDValidity: 1, UID: uid, Raw: raw, Size: int64(len(raw)), Backlog: true}
		}
		if err := svc.HandleBatch(context.Background(), fs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu-µs/msg")
}

// cpuTime is the CPU time the process has used, user and system: on a
// shared machine a steadier measure than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
