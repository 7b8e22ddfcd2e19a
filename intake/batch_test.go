package intake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// batchHandler is a testHandler that also takes batches; a batch holding
// the poison UID fails as a whole.
type batchHandler struct {
	*testHandler
	poison  uint32
	batches []string
}

func (h *batchHandler) HandleBatch(ctx context.Context, fs []Fetched) error {
	h.mu.Lock()
	h.batches = append(h.batches, fmt.Sprint(uidsOf(fs)))
	h.mu.Unlock()
	for _, f := range fs {
		if f.UID == h.poison {
			return errors.New("simulated poison message")
		}
	}
	for _, f := range fs {
		if err := h.testHandler.Handle(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// TestPollerBatches checks that a BatchHandler gets the messages in
// batches in UID order, and that a failing batch is handed over one by one:
// the poison message is retried alone until it is stored, nothing skipped,
// nothing twice.
func TestPollerBatches(t *testing.T) {
	srv := startIMAP(t)
	for i := 1; i <= 7; i++ {
		if err := srv.Append("desk", "INBOX", testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	h := &batchHandler{testHandler: newTestHandler(), poison: 5}
	h.failUID, h.failLeft = 5, 2 // Handle of UID 5 fails twice, then works
	cfg := configFor(srv, "desk", "geheim")
	cfg.BatchSize = 3
	p := newTestPoller(t, cfg, h)
	run(t, p)
	got := h.waitFor(t, 7, 10*time.Second)
	if fmt.Sprint(uidsOf(got)) != "[1 2 3 4 5 6 7]" {
		t.Errorf("UIDs %v", uidsOf(got))
	}
	h.mu.Lock()
	batches := fmt.Sprint(h.batches)
	attempts5 := h.attempts[5]
	h.mu.Unlock()
	if batches[:9] != "[[1 2 3] " || attempts5 != 3 {
		t.Errorf("batches %s, Handle of UID 5 tried %d times (want 3)", batches, attempts5)
	}
	t.Logf("batches %s", batches)
	h.checkContract(t)
}

// TestPollerBigMessageAlone checks that a message above bigMessageBytes is
// handed over alone and whole: the batch before it is stored first, and it
// is in no batch with other messages.
func TestPollerBigMessageAlone(t *testing.T) {
	srv := startIMAP(t)
	var big []byte
	for i := 1; i <= 7; i++ {
		raw := testMessage(i)
		if i == 4 {
			line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 3)[:76] + "\r\n"
			raw = append(raw, strings.Repeat(line, bigMessageBytes/len(line)+100)...)
			big = raw
		}
		if err := srv.Append("desk", "INBOX", raw); err != nil {
			t.Fatal(err)
		}
	}
	h := &batchHandler{testHandler: newTestHandler()}
	cfg := configFor(srv, "desk", "geheim")
	cfg.BatchSize = 10
	p := newTestPoller(t, cfg, h)
	run(t, p)
	got := h.waitFor(t, 7, 10*time.Second)
	if fmt.Sprint(uidsOf(got)) != "[1 2 3 4 5 6 7]" {
		t.Errorf("UIDs %v", uidsOf(got))
	}
	if !bytes.Equal(got[3].Raw, big) || got[3].HeaderOnly {
		t.Errorf("UID 4: %d bytes (header only %v), want the whole %d", len(got[3].Raw), got[3].HeaderOnly, len(big))
	}
	h.mu.Lock()
	batches := fmt.Sprint(h.batches)
	h.mu.Unlock()
	if batches != "[[1 2 3] [5 6 7]]" {
		t.Errorf("batches %s, want [[1 2 3] [5 6 7]] with UID 4 handed over alone", batches)
	}
	h.checkContract(t)
}

// slowBatchHandler stores batches slowly and notes the most it was given
// at once.
type slowBatchHandler struct {
	*batchHandler
	running, most atomic.Int32
	// parsed counts the messages that came parsed (Fetched.Parsed);
	// wrongParse those whose Parsed differs from Parse(Raw).
	parsed, wrongParse atomic.Int32
}

func (h *slowBatchHandler) HandleBatch(ctx context.Context, fs []Fetched) error {
	for _, f := range fs {
		if f.Parsed != nil {
			h.parsed.Add(1)
			if !reflect.DeepEqual(f.Parsed, Parse(f.Raw)) {
				h.wrongParse.Add(1)
			}
		}
	}
	n := h.running.Add(1)
	defer h.running.Add(-1)
	for {
		m := h.most.Load()
		if n <= m || h.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond)
	return h.batchHandler.HandleBatch(ctx, fs)
}

// TestPollerBatchesOverlapFetch checks what the pipelined flush (a batch
// stored in the background while the poller fetches on) must keep: slow
// batches are still stored one at a time, in UID order, each whole; a
// failing batch among them still goes one by one; the cursor ends at the
// last UID; the messages of a batch come parsed (parseAhead), as Parse
// parses them, when the batch before took long enough. (That the fetch
// overlaps is not observable from a handler; loket-bench measures what it
// gains.)
func TestPollerBatchesOverlapFetch(t *testing.T) {
	srv := startIMAP(t)
	for i := 1; i <= 20; i++ {
		if err := srv.Append("desk", "INBOX", testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	h := &slowBatchHandler{batchHandler: &batchHandler{testHandler: newTestHandler(), poison: 11}}
	cfg := configFor(srv, "desk", "geheim")
	cfg.BatchSize = 4
	p := newTestPoller(t, cfg, h)
	run(t, p)
	got := h.waitFor(t, 20, 10*time.Second)
	var want []uint32
	for i := 1; i <= 20; i++ {
		want = append(want, uint32(i))
	}
	if !slices.Equal(uidsOf(got), want) {
		t.Errorf("UIDs %v, want %v", uidsOf(got), want)
	}
	if m := h.most.Load(); m != 1 {
		t.Errorf("%d batches stored at once, want 1", m)
	}
	// Each batch takes 20 ms; the next 4 messages are fetched well
	// within that, so most of them come parsed.
	if n := h.parsed.Load(); n == 0 {
		t.Error("no message came parsed while the batch before was stored")
	}
	if n := h.wrongParse.Load(); n != 0 {
		t.Errorf("%d messages came parsed differently from Parse(Raw)", n)
	}
	h.mu.Lock()
	batches := fmt.Sprint(h.batches)
	h.mu.Unlock()
	if !strings.HasPrefix(batches, "[[1 2 3 4] [5 6 7 8] [9 10 11 12] [13 14 15 16]") {
		t.Errorf("batches %s", batches)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Status().Cursor.LastUID != 20 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if c := p.Status().Cursor; c.LastUID != 20 {
		t.Errorf("cursor %+v, want LastUID 20", c)
	}
	h.checkContract(t)
}

func TestRampedChunks(t *testing.T) {
	uids := make([]imap.UID, 10000)
	for i := range uids {
		uids[i] = imap.UID(i + 1)
	}
	for _, c := range []struct {
		n, size int
		want    []int
	}{
		{5000, 2000, []int{256, 512, 1024, 2000, 1208}},
		{10000, 2000, []int{256, 512, 1024, 2000, 2000, 2000, 2208}}, // the last 208 go with the 2000 before
		{300, 2000, []int{300}},
		{321, 2000, []int{256, 65}},
		{7, 3, []int{3, 3, 1}},
		{0, 2000, nil},
		{1000, 300, []int{256, 300, 300, 144}},
		{1075, 300, []int{256, 300, 300, 219}},
		{931, 300, []int{256, 300, 375}},
	} {
		var got []int
		next := imap.UID(1)
		for b := range rampedChunks(uids[:c.n], c.size) {
			got = append(got, len(b))
			if b[0] != next {
				t.Errorf("n %d size %d: a batch starts at UID %d, want %d", c.n, c.size, b[0], next)
			}
			next = b[len(b)-1] + 1
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("n %d size %d: batches %v, want %v", c.n, c.size, got, c.want)
		}
	}
}

// spin busies the core for d, as parsing or classifying a message does.
func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// A loop with a Yielder lets a goroutine that became ready run within
// about yieldEvery, not after Go's 10 ms preemption: on one core, the
// goroutine started before the loop runs after a handful of its steps.
func TestYielderLetsWaitingGoroutineRun(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var steps atomic.Int64
	ran := make(chan int64, 1)
	go func() { ran <- steps.Load() }()
	y := NewYielder()
	for range 1000 { // 20 ms of steps
		spin(20 * time.Microsecond)
		steps.Add(1)
		y.Maybe()
	}
	// yieldEvery is 10 steps; without the Yielder it is 500 (10 ms).
	if got := <-ran; got > 100 {
		t.Fatalf("the waiting goroutine ran after %d steps of 20µs, want about %d", got, yieldEvery/(20*time.Microsecond))
	}
}
