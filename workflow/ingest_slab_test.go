package workflow

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/poraad/loket/intake"
)

// TestValueSlab: values cut from a slab do not overlap, cannot be appended
// into the next, survive a value that outgrew its room, and chunks
// released go to the next transaction.
func TestValueSlab(t *testing.T) {
	s := new(valueSlab)
	var vals [][]byte
	for i := range 3000 {
		var b []byte
		switch {
		case i%97 == 0: // outgrows its room: a slice of its own
			b = append(s.buf(4), bytes.Repeat([]byte{'x'}, 5000)...)
		case i%89 == 0: // more than a quarter chunk
			b = append(s.buf(slabChunk/2), bytes.Repeat([]byte{'y'}, slabChunk/2)...)
		default:
			b = fmt.Appendf(s.buf(64), "value %d", i)
		}
		b = s.keep(b)
		if cap(b) != len(b) {
			t.Fatalf("value %d: room to append (%d of %d)", i, len(b), cap(b))
		}
		vals = append(vals, b)
	}
	for i, b := range vals {
		var want []byte
		switch {
		case i%97 == 0:
			want = bytes.Repeat([]byte{'x'}, 5000)
		case i%89 == 0:
			want = bytes.Repeat([]byte{'y'}, slabChunk/2)
		default:
			want = fmt.Appendf(nil, "value %d", i)
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("value %d: %.40q", i, b)
		}
	}
	if len(s.used) < 2 {
		t.Fatalf("%d chunks used", len(s.used))
	}
	first := &s.used[0][0]
	s.release()
	slabFree.Lock()
	found := false
	for _, c := range slabFree.chunks {
		found = found || &c[0] == first
	}
	slabFree.Unlock()
	if !found {
		t.Error("released chunk not kept")
	}
	var nilSlab *valueSlab // a single Ingest's: plain allocations
	if b := nilSlab.keep(append(nilSlab.buf(3), "abc"...)); string(b) != "abc" || cap(b) != 3 {
		t.Errorf("nil slab: %q cap %d", b, cap(b))
	}
}

// TestIngestBatchReusesSlab: the chunks of a committed batch go to the
// next, and what the first stored reads back intact after the second
// wrote over them.
func TestIngestBatchReusesSlab(t *testing.T) {
	f := newFixture(t)
	f.pol.Confirm = false
	batch := func(from int) {
		var ins []Inbound
		for i := from; i < from+200; i++ {
			id := fmt.Sprintf("m%d@x", i)
			ins = append(ins, Inbound{Mailbox: "ondersteuning", UIDValidity: 7, UID: uint32(i + 1), Raw: []byte("raw " + id),
				Msg: msg(id, fmt.Sprintf("r%d@x", i), fmt.Sprintf("vraag %d", i)), Class: newClass(intake.TypeOverig)})
		}
		if _, err := f.store.IngestBatch(ins, f.pol); err != nil {
			t.Fatal(err)
		}
	}
	batch(0)
	slabFree.Lock()
	kept := len(slabFree.chunks)
	slabFree.Unlock()
	if kept == 0 {
		t.Fatal("no chunks kept after a commit")
	}
	batch(200)
	refs := make([]string, 400)
	for i := range refs {
		refs[i] = fmt.Sprintf("PO-2026-%04d", i+1)
	}
	sums, err := f.store.Summaries(refs...)
	if err != nil {
		t.Fatal(err)
	}
	for i, ref := range refs {
		tk := f.ticket(ref)
		want := fmt.Sprintf("vraag %d", i)
		if tk.Subject != want || len(tk.Messages) != 1 || tk.Messages[0].MessageID != fmt.Sprintf("m%d@x", i) || sums[ref].Subject != want {
			t.Fatalf("%s: %+v, summary %+v", ref, tk, sums[ref])
		}
		rec, err := f.store.Message(tk.Messages[0].Seq)
		if err != nil || rec.TicketRef != ref || rec.Message.Subject != want {
			t.Fatalf("%s: record %+v, %v", ref, rec, err)
		}
	}
}
