package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
)

// TestHandleBatchAsOneByOne feeds the same mail once through Handle, one
// message at a time, and once through HandleBatch in batches of 7, and
// finds the same tickets, messages, mail queued and cursor. Among the mail
// is a follow-up to a request of the same batch, which must join that
// request's ticket as it does one by one.
func TestHandleBatchAsOneByOne(t *testing.T) {
	files, _ := filepath.Glob("../intake/testdata/classify/heldout/*.eml")
	var raws [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, b)
	}
	req := "From: Marloes <m.duinkerk@swv.example>\r\nTo: ondersteuningpassendonderwijs@poraad.nl\r\nSubject: Clinic aanvragen\r\n" +
		"Message-ID: <req-1@swv.example>\r\n\r\nWij willen graag een clinic aanvragen voor ons team.\r\n"
	reply := "From: Marloes <m.duinkerk@swv.example>\r\nTo: ondersteuningpassendonderwijs@poraad.nl\r\nSubject: Re: Clinic aanvragen\r\n" +
		"Message-ID: <req-2@swv.example>\r\nIn-Reply-To: <req-1@swv.example>\r\nReferences: <req-1@swv.example>\r\n\r\nNog een aanvulling: het gaat om 20 mensen.\r\n"
	raws = slices.Insert(raws, min(3, len(raws)), []byte(req), []byte(reply))

	fetched := func() []intake.Fetched {
		var fs []intake.Fetched
		for i, r := range raws {
			fs = append(fs, intake.Fetched{Mailbox: "ondersteuning", UIDValidity: 7, UID: uint32(i + 1), Raw: r, Size: int64(len(r))})
		}
		return fs
	}
	summary := func(f *fixture) string {
		t.Helper()
		var b strings.Builder
		for _, r := range raws {
			id := boundedInbound(Inbound{Msg: intake.Parse(r)}).Msg.MessageID
			ref, _ := f.store.TicketForMessageID(id)
			fmt.Fprintf(&b, "%s→%s\n", id, ref)
		}
		st, err := f.store.Stats()
		if err != nil {
			t.Fatal(err)
		}
		c, _ := f.store.Cursor("ondersteuning")
		fmt.Fprintf(&b, "tickets %d messages %d pending %d cursor %+v\n", st.Tickets, st.Messages, st.OutboxPending, c)
		return b.String()
	}

	one := newFixture(t)
	svc1 := one.service()
	for _, f := range fetched() {
		if err := svc1.Handle(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	want := summary(one)
	// Batches of 7 committed whole, and batches of 40 committed in chunks
	// of 2, so that chunks are classified while others commit, and the
	// follow-up's chunk waits for its request's commit.
	// And batches whose messages the poller parsed already.
	for _, c := range []struct {
		batch, chunk int
		parsed       bool
	}{{7, commitChunk, false}, {40, 2, false}, {40, 2, true}} {
		t.Run(fmt.Sprintf("batch%d-chunk%d-parsed%v", c.batch, c.chunk, c.parsed), func(t *testing.T) {
			defer func(old int) { commitChunk = old }(commitChunk)
			commitChunk = c.chunk
			batched := newFixture(t)
			svc2 := batched.service()
			fs := fetched()
			for i := range fs {
				if c.parsed {
					fs[i].Parsed = intake.Parse(fs[i].Raw)
				}
			}
			for b := range slices.Chunk(fs, c.batch) {
				if err := svc2.HandleBatch(context.Background(), b); err != nil {
					t.Fatal(err)
				}
			}
			if got := summary(batched); got != want {
				t.Errorf("batched:\n%s\none by one:\n%s", got, want)
			}
			r1, _ := batched.store.TicketForMessageID("req-1@swv.example")
			r2, _ := batched.store.TicketForMessageID("req-2@swv.example")
			if r1 == "" || r1 != r2 {
				t.Errorf("the follow-up in the same batch is on %q, its request on %q", r2, r1)
			}
		})
	}
	t.Logf("%d messages", len(raws))
}

// TestHandleBatchTakesParsed: a message the poller parsed already
// (Fetched.Parsed) is not parsed again.
func TestHandleBatchTakesParsed(t *testing.T) {
	f := newFixture(t)
	raw := []byte("From: Marloes <m.duinkerk@swv.example>\r\nTo: ondersteuningpassendonderwijs@poraad.nl\r\nSubject: Clinic aanvragen\r\n" +
		"Message-ID: <parsed-1@swv.example>\r\n\r\nWij willen graag een clinic aanvragen voor ons team.\r\n")
	parsed := intake.Parse(raw)
	parsed.Subject = "Vooraf gelezen"
	fs := []intake.Fetched{{Mailbox: "ondersteuning", UIDValidity: 7, UID: 1, Raw: raw, Size: int64(len(raw)), Parsed: parsed}}
	if err := f.service().HandleBatch(context.Background(), fs); err != nil {
		t.Fatal(err)
	}
	ref, ok := f.store.TicketForMessageID("parsed-1@swv.example")
	if !ok {
		t.Fatal("no ticket")
	}
	tk, err := f.store.Ticket(ref)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Subject != "Vooraf gelezen" {
		t.Errorf("subject %q: the message was parsed again", tk.Subject)
	}
}

// TestRecordStoredOnce checks that a message record read back is whole
// although its HTML and text are stored only in the raw bytes and a new
// request's classification only in its ticket: through Handle and
// HandleBatch alike, Store.Message gives the parsed message and its
// classification, the stored bytes hold none of them twice, and a purge
// leaves no HTML or text behind.
func TestRecordStoredOnce(t *testing.T) {
	files, _ := filepath.Glob("../intake/testdata/classify/heldout/*.eml")
	if len(files) == 0 {
		t.Skip("no test mail")
	}
	for _, batched := range []bool{false, true} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) {
			f := newFixture(t)
			svc := f.service()
			var fs []intake.Fetched
			for i, file := range files {
				raw, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				fs = append(fs, intake.Fetched{Mailbox: "ondersteuning", UIDValidity: 1, UID: uint32(i + 1), Raw: raw, Size: int64(len(raw))})
			}
			if batched {
				if err := svc.HandleBatch(context.Background(), fs); err != nil {
					t.Fatal(err)
				}
			} else {
				for _, fe := range fs {
					if err := svc.Handle(context.Background(), fe); err != nil {
						t.Fatal(err)
					}
				}
			}
			htmlLeft, textLeft, classLeft := 0, 0, 0
			for _, fe := range fs {
				want := boundedInbound(Inbound{Msg: intake.Parse(fe.Raw)}).Msg
				v, _ := f.store.TicketForMessageID(want.MessageID)
				if v == "" {
					continue // an auto-reply or bounce without a ticket
				}
				var seq uint64
				var stored []byte
				_ = f.store.db.View(func(tx *bolt.Tx) error {
					ids := messageIDsOf(tx)
					seq = btoi(ids.get([]byte(want.MessageID)))
					stored = bytes.Clone(tx.Bucket(bucketMessages).Get(itob(seq)))
					return nil
				})
				rec, err := f.store.Message(seq)
				if err != nil {
					t.Fatal(err)
				}
				if rec.Message.HTML != want.HTML || rec.Message.Text != want.Text {
					t.Errorf("%s: HTML/text read back differ from the parsed message (HTMLInRaw %v)", want.MessageID, rec.HTMLInRaw)
				}
				if rec.Class == nil || rec.Class.Kind == "" {
					t.Errorf("%s: no classification read back (ClassInTicket %v)", want.MessageID, rec.ClassInTicket)
				}
				if rec.ClassInTicket {
					tk, err := f.store.Ticket(rec.TicketRef)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(*rec.Class, tk.Classification) {
						t.Errorf("%s: classification read back differs from its ticket's", want.MessageID)
					}
					classLeft++
					if bytes.Contains(stored, []byte(`"classification"`)) {
						t.Errorf("%s: classification stored twice", want.MessageID)
					}
				}
				if rec.TextInRaw {
					textLeft++
					var s MessageRecord
					if err := json.Unmarshal(stored, &s); err != nil || s.Message.Text != "" {
						t.Errorf("%s: text stored in the record too (%v)", want.MessageID, err)
					}
				}
				if rec.HTMLInRaw || rec.TextInRaw {
					if rec.HTMLInRaw {
						htmlLeft++
					}
					if bytes.Contains(stored, []byte(`"html"`)) {
						t.Errorf("%s: HTML stored in the record too", want.MessageID)
					}
					if err := f.store.db.Update(func(tx *bolt.Tx) error {
						_, err := purgeMessageTx(tx, seq, false)
						return err
					}); err != nil {
						t.Fatal(err)
					}
					if rec, err := f.store.Message(seq); err != nil || rec.HTMLInRaw || rec.TextInRaw || rec.Message.HTML != "" || rec.Message.Text != "" {
						t.Errorf("%s: after the purge: %v, HTMLInRaw %v, TextInRaw %v, %d bytes of HTML, %d of text", want.MessageID, err,
							rec.HTMLInRaw, rec.TextInRaw, len(rec.Message.HTML), len(rec.Message.Text))
					}
				}
			}
			if htmlLeft == 0 || textLeft == 0 || classLeft == 0 {
				t.Errorf("%d records left their HTML to the raw bytes, %d their text, %d their classification to the ticket; want some of each", htmlLeft, textLeft, classLeft)
			}
		})
	}
}

func TestChunkSize(t *testing.T) {
	for _, c := range []struct {
		batch int
		want  []int
	}{
		{2000, []int{256, 256, 256, 256, 256, 256, 256, 104, 64, 40}},
		{500, []int{256, 122, 64, 58}},
		{256, []int{128, 64, 64}},
		{70, []int{70}},
		{1, []int{1}},
	} {
		var got []int
		for left := c.batch; left > 0; {
			n := chunkSize(left)
			got = append(got, n)
			left -= n
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("batch of %d: chunks %v, want %v", c.batch, got, c.want)
		}
	}
}

// TestCommitLane: chunks are committed in the order pushed, at most
// maxFlights are out at once, a chunk that answers a pending one sees its
// Message-ID as pending until it is reaped, and after a failed commit
// nothing later is committed and every call reports the failure.
func TestCommitLane(t *testing.T) {
	chunk := func(ids ...string) ([]intake.Fetched, []Inbound) {
		fs := make([]intake.Fetched, len(ids))
		ins := make([]Inbound, len(ids))
		for i, id := range ids {
			ins[i] = Inbound{Msg: &intake.Message{MessageID: "<" + id + ">"}}
		}
		return fs, ins
	}
	var committed, reported []string
	// Each commit waits for one value: true commits, false fails. A
	// commit nobody releases (a lane that goes on after a failure) gives
	// up after a while, so that the test fails instead of hanging.
	release := make(chan bool)
	l := startLane(func(ins []Inbound) ([]IngestResult, error) {
		select {
		case ok := <-release:
			if !ok {
				return nil, errors.New("disk full")
			}
		case <-time.After(2 * time.Second):
			return nil, errors.New("commit never released")
		}
		committed = append(committed, ins[0].Msg.MessageID)
		return make([]IngestResult, len(ins)), nil
	}, func(f *commitFlight) { reported = append(reported, f.ins[0].Msg.MessageID) })

	for _, id := range []string{"a", "b"} {
		if err := l.push(chunk(id)); err != nil {
			t.Fatal(err)
		}
	}
	if l.pending["a"] != 1 || l.pending["b"] != 1 {
		t.Errorf("pending %v, want a and b", l.pending)
	}
	third := make(chan error)
	go func() { third <- l.push(chunk("c")) }() // maxFlights out: waits for a
	select {
	case err := <-third:
		t.Fatalf("a third chunk was taken while %d were out: %v", maxFlights, err)
	case <-time.After(50 * time.Millisecond):
	}
	release <- true // a commits
	if err := <-third; err != nil {
		t.Fatal(err)
	}
	if _, ok := l.pending["a"]; ok || l.pending["c"] != 1 {
		t.Errorf("after a was reaped, pending %v, want b and c", l.pending)
	}
	release <- false // b fails; c must not be committed
	select {
	case release <- true:
		t.Error("the chunk after a failed one went to commit")
	case <-time.After(50 * time.Millisecond):
	}
	if err := l.reap(true); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("reap after a failed commit: %v", err)
	}
	if err := l.push(chunk("d")); err == nil {
		t.Error("push after a failed commit took the chunk")
	}
	if err := l.finish(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("finish after a failed commit: %v", err)
	}
	if !slices.Equal(committed, []string{"<a>"}) || !slices.Equal(reported, []string{"<a>"}) {
		t.Errorf("committed %v, reported %v, want only <a>", committed, reported)
	}
	if len(l.pending) != 0 {
		t.Errorf("pending after finish: %v", l.pending)
	}
}

// TestParallel: every index is run exactly once.
func TestParallel(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 1000} {
		counts := make([]atomic.Int32, n)
		parallel(n, func(i int) { counts[i].Add(1) })
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Fatalf("n=%d: index %d ran %d times", n, i, c)
			}
		}
	}
}

// On one core, a pushed chunk's commit starts before push returns, and
// the workers of parallel let a goroutine that became ready run within a
// handful of items (intake.Yielder), not after Go's 10 ms preemption:
// the commit is the serial step of intake, and it must not wait for the
// preparation of the next chunk.
func TestLaneRunsBeforeWorkers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	started, release := make(chan struct{}, 1), make(chan struct{})
	l := startLane(func(ins []Inbound) ([]IngestResult, error) {
		started <- struct{}{}
		<-release
		return make([]IngestResult, len(ins)), nil
	}, func(*commitFlight) {})
	if err := l.push(nil, []Inbound{{Msg: &intake.Message{MessageID: "<a>"}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	default:
		t.Error("the commit had not started when push returned")
	}
	close(release)
	if err := l.finish(); err != nil {
		t.Fatal(err)
	}

	var items atomic.Int64
	ran := make(chan int64, 1)
	go func() { ran <- items.Load() }()
	parallel(1000, func(int) { // 20 ms of 20 µs items
		for start := time.Now(); time.Since(start) < 20*time.Microsecond; {
		}
		items.Add(1)
	})
	if got := <-ran; got > 100 {
		t.Errorf("a ready goroutine ran after %d items of 20 µs, want about 10", got)
	}
}
