package intake

// batch.go hands fetched messages to a Handler that can take many at once
// (BatchHandler): the workflow then commits them in one transaction, one
// fsync for the lot, with the cursor advanced to the last of them. A batch
// that fails is handed over again one message at a time, so one message
// that cannot be stored stops the poller at that message, exactly as
// without batches (docs/RELIABILITY.md, guarantee 2).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// BatchHandler is implemented by a Handler that stores many messages at
// once.
type BatchHandler interface {
	Handler
	// HandleBatch stores the messages, in ascending UID order, and
	// advances the cursor to the last one, all or nothing. On an error
	// the poller hands the same messages to Handle one by one.
	HandleBatch(ctx context.Context, fs []Fetched) error
}

// maxPendingBytes bounds what a batch holds: big messages go in small
// batches.
const maxPendingBytes = 16 << 20

// A message above bigMessageBytes is fetched and handed over alone, never
// together with other messages: what is pending is stored before it is
// fetched. Before one above releaseBytes is fetched, and again once it is
// stored, garbage (its raw bytes, the store's copy of them) is collected
// and returned to the operating system at once: Go would otherwise let the
// heap grow to twice what was live before collecting, several copies of
// the message (docs/PERFORMANCE.md).
const (
	bigMessageBytes = 1 << 20
	releaseBytes    = 8 << 20
)

// rampStart is the size of a pass's first batch when BatchSize is larger:
// see rampedChunks.
const rampStart = 256

// rampedChunks splits uids into batches of at most size, the first ones
// smaller: rampStart, then twice as many each time. A batch is stored
// while the next is fetched, so a backlog keeps every core busy from the
// first few milliseconds instead of after a whole batch is fetched. A
// batch followed by at most a quarter of its size takes those too: a
// batch of a few stored alone at the end would leave a core idle.
func rampedChunks(uids []imap.UID, size int) iter.Seq[[]imap.UID] {
	return func(yield func([]imap.UID) bool) {
		n := min(size, rampStart)
		for len(uids) > 0 {
			k := min(n, len(uids))
			if len(uids)-k <= k/4 {
				k = len(uids)
			}
			if !yield(uids[:k:k]) {
				return
			}
			uids = uids[k:]
			n = min(size, 2*n)
		}
	}
}

// handOver hands f to the Handler: at once for a plain Handler, else
// with the next flush; a big message goes alone, after what is pending.
func (s *session) handOver(ctx context.Context, f *Fetched) error {
	_, ok := s.p.h.(BatchHandler)
	size := len(f.Raw)
	if ok && size <= bigMessageBytes {
		s.pending = append(s.pending, f)
		s.pendingBytes += size
		if s.pendingBytes >= maxPendingBytes {
			return s.flush(ctx)
		}
		return nil
	}
	if ok {
		if err := s.flush(ctx); err != nil {
			return err
		}
	}
	err := s.handleOne(ctx, f)
	f.Raw = nil
	release(size)
	return err
}

// release collects garbage and returns it to the operating system after or
// before a message of size bytes above releaseBytes, unless the live heap
// is so much larger that the message's copies fit in Go's usual headroom:
// a desk with a large heap then pays no extra collections.
func release(size int) {
	if size <= releaseBytes {
		return
	}
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	if live[0].Value.Kind() == metrics.KindUint64 && live[0].Value.Uint64() > 4*uint64(size) {
		return
	}
	debug.FreeOSMemory()
}

// flush hands the pending messages to the BatchHandler and waits until
// they are stored; when that fails, it hands them over one by one.
func (s *session) flush(ctx context.Context) error {
	if err := s.flushAsync(ctx); err != nil {
		return err
	}
	return s.settle(ctx)
}

// batchFlight is a batch being stored while the session fetches the next.
type batchFlight struct {
	fs   []*Fetched
	err  error
	done chan struct{}
}

// flushAsync hands the pending messages to the BatchHandler in the
// background, after the batch before them is settled, so that the next
// FETCH overlaps their parsing and commit. Batches are stored one at a
// time and in UID order, as with flush.
func (s *session) flushAsync(ctx context.Context) error {
	// The handler stores one batch at a time: settle the one before,
	// parsing this one meanwhile.
	s.parseAhead()
	if err := s.settle(ctx); err != nil {
		return err
	}
	fs := s.pending
	s.pending, s.pendingBytes = nil, 0
	if len(fs) == 0 {
		return nil
	}
	bh := s.p.h.(BatchHandler)
	batch := make([]Fetched, len(fs))
	for i, f := range fs {
		batch[i] = *f
	}
	fl := &batchFlight{fs: fs, done: make(chan struct{})}
	s.flight = fl
	go func() {
		defer close(fl.done)
		fl.err = bh.HandleBatch(ctx, batch)
	}()
	return nil
}

// parseAhead parses the pending messages (Fetched.Parsed) until the batch
// in the background is stored. The poller has fetched them and would only
// wait; the end of a batch's storing, its last commits, leaves a core
// free, and parsing is the one step of the next batch that does not
// depend on what is stored.
func (s *session) parseAhead() {
	fl := s.flight
	if fl == nil {
		return
	}
	y := NewYielder()
	for _, f := range s.pending {
		select {
		case <-fl.done:
			return
		default:
		}
		if f.Parsed == nil && !f.HeaderOnly {
			f.Parsed = Parse(f.Raw)
		}
		y.Maybe()
	}
}

// yieldEvery is how long a loop of short CPU-bound steps (parsing or
// classifying one message each) runs before it lets other goroutines
// have its core.
//
// Go preempts a running goroutine only after 10 ms. A goroutine that
// becomes ready meanwhile waits that long when every core is busy: the
// store's commit, woken when its chunk is queued or back from fsync, and
// the IMAP reader, woken by data. Both are steps the others wait for, and
// such waits of several milliseconds per commit were most of what kept the
// cores idle during a backlog import (docs/PERFORMANCE.md).
const yieldEvery = 200 * time.Microsecond

// Yielder lets a loop yield its core every yieldEvery: call Maybe after
// each step. A step of a few microseconds costs a clock read more.
type Yielder struct{ last time.Time }

// NewYielder starts the clock of a Yielder.
func NewYielder() Yielder { return Yielder{last: time.Now()} }

// Maybe yields the core (runtime.Gosched) when yieldEvery has passed since
// the last time it did.
func (y *Yielder) Maybe() {
	if now := time.Now(); now.Sub(y.last) >= yieldEvery {
		runtime.Gosched()
		y.last = now
	}
}

// dropFlight waits for a batch still in the background when a pass ends
// early (an error), so that no two batches are ever stored at once; what it
// stored is in the store's cursor, which the next pass starts from.
func (s *session) dropFlight() {
	if fl := s.flight; fl != nil {
		s.flight = nil
		<-fl.done
	}
}

// settle waits for the batch in the background, then records it (cursor,
// count, the move to ProcessedFolder) or, when it failed, hands its
// messages over one by one.
func (s *session) settle(ctx context.Context) error {
	fl := s.flight
	if fl == nil {
		return nil
	}
	s.flight = nil
	<-fl.done
	fs := fl.fs
	if err := fl.err; err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.p.log.Warn("imap: batch not stored, handing its messages over one by one",
			"first_uid", fs[0].UID, "last_uid", fs[len(fs)-1].UID, "err", err)
		for _, f := range fs {
			if err := s.handleOne(ctx, f); err != nil {
				return err
			}
		}
		return nil
	}
	last := fs[len(fs)-1].UID
	s.p.update(func(st *PollerStatus) {
		st.Cursor = Cursor{UIDValidity: s.uidValidity, LastUID: last}
		st.Handled += int64(len(fs))
	})
	if s.p.cfg.ProcessedFolder != "" {
		uids := make([]imap.UID, len(fs))
		for i, f := range fs {
			uids[i] = imap.UID(f.UID)
		}
		if err := s.moveHandled(imap.UIDSetNum(uids...)); err != nil {
			return err
		}
	}
	return nil
}

// fetchAhead returns the message rest[0]. Small messages are fetched
// together: one UID FETCH of BODY.PEEK[] for the run of UIDs from rest[0]
// on whose sizes are at most MaxMessageSize and bigMessageBytes, up to
// maxPendingBytes in all, instead of a command and a round trip each. A
// message the run did not bring (expunged meanwhile, or larger than it
// said) is fetched alone, as before; before a big one, what is pending is
// stored, so that it is held alone. Like fetch, it returns nil for a
// message that has gone.
func (s *session) fetchAhead(ctx context.Context, rest []imap.UID, sizes map[imap.UID]int64) (*Fetched, error) {
	uid := rest[0]
	size := sizes[uid]
	if f, ok := s.ahead[uid]; ok {
		delete(s.ahead, uid)
		f.Size = s.fetchedSize(size, f)
		return f, nil
	}
	small := min(s.p.cfg.MaxMessageSize, bigMessageBytes) // a big one is fetched alone
	if size > small && size <= s.p.cfg.MaxMessageSize {
		// Held alone: what is pending is stored first and, before a very
		// big one, the garbage that left is returned.
		if err := s.flush(ctx); err != nil {
			return nil, err
		}
		release(int(size))
	}
	if s.aheadCovered[uid] || size > small {
		return s.fetch(uid, size)
	}
	var run []imap.UID
	var total int64
	for _, u := range rest {
		sz, ok := sizes[u]
		if !ok {
			continue
		}
		if sz > small || (len(run) > 0 && total+sz > maxPendingBytes) {
			break
		}
		run = append(run, u)
		total += sz
	}
	if len(run) < 2 {
		return s.fetch(uid, size)
	}
	got, err := s.fetchMany(run, total)
	if err != nil {
		return nil, err
	}
	s.ahead, s.aheadCovered = got, make(map[imap.UID]bool, len(run))
	for _, u := range run {
		s.aheadCovered[u] = true
	}
	if f, ok := s.ahead[uid]; ok {
		delete(s.ahead, uid)
		f.Size = s.fetchedSize(size, f)
		return f, nil
	}
	return s.fetch(uid, size)
}

// fetchMany fetches whole messages of at most MaxMessageSize each with one
// command. A literal larger than that is skipped unread (fetchAhead then
// fetches that message alone, which takes its header).
func (s *session) fetchMany(uids []imap.UID, total int64) (map[imap.UID]*Fetched, error) {
	max := s.p.cfg.MaxMessageSize
	out := make(map[imap.UID]*Fetched, len(uids))
	timeout := s.p.cfg.CommandTimeout + time.Duration(total/(256<<10))*time.Second
	what := fmt.Sprintf("UID FETCH %d:%d (%d messages)", uids[0], uids[len(uids)-1], len(uids))
	err := s.do(what, timeout, func() error {
		cmd := s.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{
			UID:         true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}},
		})
		var readErr error
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			var uid imap.UID
			var raw []byte
			found := false
			for item := msg.Next(); item != nil; item = msg.Next() {
				switch it := item.(type) {
				case imapclient.FetchItemDataUID:
					uid = it.UID
				case imapclient.FetchItemDataBodySection:
					if readErr != nil {
						continue
					}
					if it.Literal == nil { // NIL: an empty message
						raw, found = []byte{}, true
						continue
					}
					n := it.Literal.Size()
					if n > max {
						continue // Next discards the literal unread
					}
					raw = make([]byte, n)
					if _, err := io.ReadFull(it.Literal, raw); err != nil {
						readErr = fmt.Errorf("read literal: %w", err)
						continue
					}
					found = true
				}
			}
			if uid != 0 && found && readErr == nil {
				out[uid] = &Fetched{Mailbox: s.p.cfg.Name, UIDValidity: s.uidValidity, UID: uint32(uid),
					Raw: raw}
			}
		}
		return errors.Join(readErr, cmd.Close())
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
