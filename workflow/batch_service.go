package workflow

// batch_service.go lets the poller hand the Service many messages at once
// (intake.BatchHandler): they are parsed and classified in parallel, one
// worker per CPU, and committed in one transaction (Store.IngestBatch) with
// the cursor advanced to the last, so a backlog costs one fsync per batch
// instead of one per message. Everything else is as Handle does it.

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/poraad/loket/intake"
)

var _ intake.BatchHandler = (*Service)(nil)

// HandleBatch implements intake.BatchHandler. The batch is committed in
// chunks of up to commitChunk messages, one transaction each, in order, by
// one goroutine (commitLane), while the next chunks are parsed, classified
// and prepared (index words, JSON) in parallel: up to maxFlights chunks
// are prepared ahead of the commits, so neither side waits for the other
// at every chunk.
//
// A message that answers an earlier one of the same batch is classified
// only after that one is committed (the thread index must know it), so a
// chunk ends before such a message, and its classification waits for the
// commits in flight.
func (s *Service) HandleBatch(ctx context.Context, fs []intake.Fetched) error {
	lane := startLane(func(ins []Inbound) ([]IngestResult, error) { return s.Store.IngestBatch(ins, s.Policy) }, s.afterCommit)
	var msgs []*intake.Message // parsed messages of fs, from the front
	for len(fs) > 0 {
		if err := ctx.Err(); err != nil {
			return errors.Join(err, lane.finish())
		}
		if want := chunkSize(len(fs)); len(msgs) < want {
			msgs = append(msgs, parseAll(fs[len(msgs):want])...)
		}
		if err := lane.reap(false); err != nil {
			return lane.finish()
		}
		n := independentPrefix(msgs, lane.pending)
		if n == 0 { // answers a chunk in flight: classify after its commit
			if err := lane.reap(true); err != nil {
				return lane.finish()
			}
			continue
		}
		ins := make([]Inbound, n)
		parallel(n, func(i int) {
			f, m := fs[i], msgs[i]
			in := boundedInbound(Inbound{Mailbox: f.Mailbox, UIDValidity: f.UIDValidity, UID: f.UID,
				Raw: f.Raw, Msg: m, Class: s.Classify(m, f.Mailbox), HeaderOnly: f.HeaderOnly, Backlog: f.Backlog, parsedRaw: true})
			in.words = wordList(in.Msg.Text)
			stored, _, _ := storedMessage(in)
			if js, err := marshalMessage(stored); err == nil { // message_json.go
				in.msgJSON = js
			}
			// For the message record, or for the ticket it makes
			// (ClassInTicket).
			if js, err := marshalClassification(&in.Class); err == nil {
				in.classJSON = js
			}
			ins[i] = in
		})
		if err := lane.push(fs[:n], ins); err != nil {
			return lane.finish()
		}
		fs, msgs = fs[n:], msgs[n:]
	}
	return lane.finish()
}

// commitChunk is the most messages committed in one transaction (a
// variable for tests).
var commitChunk = 256

// chunkSize is how many of the left messages of a batch the next chunk
// takes: commitChunk, but the last ones get smaller, halving down to about
// a quarter of it. Nothing is left to prepare beside a batch's last commit,
// so while it runs one core waits: the shorter, the better.
func chunkSize(left int) int {
	if left > commitChunk {
		return commitChunk
	}
	tail := max(1, commitChunk/4)
	if left <= tail+tail/2 {
		return left
	}
	return max(tail, left/2)
}

// maxFlights is how many prepared chunks may wait for or be in their
// commit at once.
const maxFlights = 2

// commitFlight is one chunk on its way through a commitLane.
type commitFlight struct {
	fs      []intake.Fetched
	ins     []Inbound
	ids     []string // trimmed Message-IDs of ins
	results []IngestResult
	err     error
	done    chan struct{}
}

// commitLane commits the chunks of one HandleBatch in the order pushed,
// one transaction at a time, in its own goroutine. After a chunk fails,
// the ones after it are not committed and fail with its error, so what is
// stored is always a prefix of the batch and the cursor stays true.
type commitLane struct {
	after   func(*commitFlight) // called for each committed chunk, in order
	queue   chan *commitFlight
	flights []*commitFlight // pushed and not yet reaped, oldest first
	// pending counts the Message-IDs of flights not yet reaped: messages
	// that answer one of them wait for its commit (independentPrefix).
	pending map[string]int
	err     error // the first failed commit's
}

// startLane starts a lane that commits each chunk with commit.
func startLane(commit func([]Inbound) ([]IngestResult, error), after func(*commitFlight)) *commitLane {
	l := &commitLane{after: after, queue: make(chan *commitFlight, maxFlights), pending: map[string]int{}}
	go func() {
		var failed error
		for f := range l.queue {
			if failed != nil {
				f.err = failed
			} else {
				f.results, f.err = commit(f.ins)
				failed = f.err
			}
			close(f.done)
		}
	}()
	return l
}

// push queues a prepared chunk, first waiting for the oldest flight when
// maxFlights are out. It returns the error of a failed commit, if any.
func (l *commitLane) push(fs []intake.Fetched, ins []Inbound) error {
	for len(l.flights) >= maxFlights {
		if err := l.reapOne(); err != nil {
			return err
		}
	}
	f := &commitFlight{fs: fs, ins: ins, ids: make([]string, len(ins)), done: make(chan struct{})}
	for i, in := range ins {
		f.ids[i] = strings.Trim(in.Msg.MessageID, "<> ")
		l.pending[f.ids[i]]++
	}
	l.flights = append(l.flights, f)
	l.queue <- f // never blocks: at most maxFlights are out
	// The commit is the serial step: let it start now rather than once
	// the workers preparing the next chunk yield (intake.Yielder).
	runtime.Gosched()
	return l.err
}

// reap takes the committed flights, oldest first: all of them, waiting
// for each, when wait is true; else those already done. It returns the
// error of a failed commit, if any.
func (l *commitLane) reap(wait bool) error {
	for len(l.flights) > 0 {
		if !wait {
			select {
			case <-l.flights[0].done:
			default:
				return l.err
			}
		}
		if err := l.reapOne(); err != nil {
			return err
		}
	}
	return l.err
}

// reapOne waits for the oldest flight and takes it: its Message-IDs are
// no longer pending, and a committed chunk is reported (afterCommit).
func (l *commitLane) reapOne() error {
	f := l.flights[0]
	<-f.done
	l.flights = l.flights[1:]
	for _, id := range f.ids {
		if l.pending[id]--; l.pending[id] <= 0 {
			delete(l.pending, id)
		}
	}
	if f.err != nil {
		if l.err == nil {
			l.err = f.err
		}
		return l.err
	}
	l.after(f)
	return nil
}

// finish waits for every flight, stops the lane's goroutine and returns
// the first failed commit's error, if any.
func (l *commitLane) finish() error {
	for len(l.flights) > 0 {
		_ = l.reapOne()
	}
	close(l.queue)
	return l.err
}

// afterCommit logs and reports a committed chunk and wakes the sender.
func (s *Service) afterCommit(f *commitFlight) {
	queued := false
	for i, res := range f.results {
		s.logResult(f.fs[i], f.ins[i].Msg, f.ins[i].Class, res)
		if s.Observed != nil {
			s.Observed(f.fs[i].Mailbox, f.ins[i].Class, res)
		}
		queued = queued || res.OutboxID != 0 || res.Queued > 0
	}
	if queued && s.Committed != nil {
		s.Committed()
	}
}

// parseAll parses the messages in parallel, but for those the poller
// parsed already (Fetched.Parsed).
func parseAll(fs []intake.Fetched) []*intake.Message {
	msgs := make([]*intake.Message, len(fs))
	parallel(len(fs), func(i int) {
		switch {
		case fs[i].HeaderOnly:
			msgs[i] = intake.ParseHeader(fs[i].Raw, fs[i].Size)
		case fs[i].Parsed != nil:
			msgs[i] = fs[i].Parsed
		default:
			msgs[i] = intake.Parse(fs[i].Raw)
		}
	})
	return msgs
}

// independentPrefix is how many messages from the start name neither an
// earlier message of msgs nor one in pending (trimmed Message-IDs not yet
// committed) in In-Reply-To or References. Without pending it is at least 1.
func independentPrefix(msgs []*intake.Message, pending map[string]int) int {
	seen := make(map[string]bool, len(msgs))
	for i, m := range msgs {
		for _, ids := range [][]string{m.InReplyTo, m.References} {
			for _, id := range ids {
				id = strings.Trim(id, "<> ")
				if (i > 0 && seen[id]) || pending[id] > 0 {
					return i
				}
			}
		}
		seen[strings.Trim(m.MessageID, "<> ")] = true
	}
	return len(msgs)
}

// parallel runs f(0) … f(n-1) on up to runtime.NumCPU goroutines, the
// caller's included. Each takes the next index from a shared counter: no
// channel hand-over per item. Each yields its core every yieldEvery.
func parallel(n int, f func(i int)) {
	workers := min(runtime.NumCPU(), n)
	var next atomic.Int64
	work := func() {
		y := intake.NewYielder()
		for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
			f(i)
			y.Maybe()
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}
