package workflow

// batch_service.go lets the poller hand the Service many messages at once
// (intake.BatchHandler): they are parsed and classified in parallel, one
// worker per CPU, and committed in one transaction (Store.IngestBatch) with
// the cursor advanced to the last, so a backlog costs one fsync per batch
// instead of one per message. Everything else is as Handle does it.

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"sync"

	"github.com/poraad/loket/intake"
)

var _ intake.BatchHandler = (*Service)(nil)

// HandleBatch implements intake.BatchHandler. The batch is committed in
// chunks of up to commitChunk messages, and the work of the next chunk
// (parsing, classifying, working out its index words and JSON, all in
// parallel) overlaps the commit of the previous one, so the serial commit
// and the parallel work keep both going.
//
// A message that answers an earlier one of the same batch is classified
// only after that one is committed (the thread index must know it), so a
// chunk ends before such a message, and its classification waits for the
// commit in flight.
func (s *Service) HandleBatch(ctx context.Context, fs []intake.Fetched) error {
	var (
		flight  *commitFlight // the chunk being committed, if any
		pending = map[string]bool{}
		msgs    []*intake.Message // parsed messages of fs, from the front
	)
	wait := func() error {
		if flight == nil {
			return nil
		}
		f := flight
		flight = nil
		<-f.done
		clear(pending)
		if f.err != nil {
			return f.err
		}
		s.afterCommit(f)
		return nil
	}
	for len(fs) > 0 {
		if err := ctx.Err(); err != nil {
			return errors.Join(err, wait())
		}
		if want := chunkSize(len(fs)); len(msgs) < want {
			msgs = append(msgs, parseAll(fs[len(msgs):want])...)
		}
		n := independentPrefix(msgs, pending)
		if n == 0 { // answers the chunk in flight: classify after its commit
			if err := wait(); err != nil {
				return err
			}
			continue
		}
		ins := make([]Inbound, n)
		parallel(n, func(i int) {
			f, m := fs[i], msgs[i]
			in := boundedInbound(Inbound{Mailbox: f.Mailbox, UIDValidity: f.UIDValidity, UID: f.UID,
				Raw: f.Raw, Msg: m, Class: s.Classify(m, f.Mailbox), HeaderOnly: f.HeaderOnly, Backlog: f.Backlog, parsedRaw: true})
			in.words = Words(in.Msg.Text)
			stored, _ := storedMessage(in)
			if js, err := json.Marshal(stored); err == nil {
				in.msgJSON = js
			}
			// For the message record, or for the ticket it makes
			// (ClassInTicket).
			if js, err := json.Marshal(&in.Class); err == nil {
				in.classJSON = js
			}
			ins[i] = in
		})
		if err := wait(); err != nil {
			return err
		}
		for _, in := range ins {
			pending[strings.Trim(in.Msg.MessageID, "<> ")] = true
		}
		flight = s.startCommit(fs[:n], ins)
		fs, msgs = fs[n:], msgs[n:]
	}
	return wait()
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

// commitFlight is one chunk's commit, running in its own goroutine.
type commitFlight struct {
	fs      []intake.Fetched
	ins     []Inbound
	results []IngestResult
	err     error
	done    chan struct{}
}

func (s *Service) startCommit(fs []intake.Fetched, ins []Inbound) *commitFlight {
	f := &commitFlight{fs: fs, ins: ins, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.results, f.err = s.Store.IngestBatch(ins, s.Policy)
	}()
	return f
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

// parseAll parses the messages in parallel.
func parseAll(fs []intake.Fetched) []*intake.Message {
	msgs := make([]*intake.Message, len(fs))
	parallel(len(fs), func(i int) {
		if fs[i].HeaderOnly {
			msgs[i] = intake.ParseHeader(fs[i].Raw, fs[i].Size)
		} else {
			msgs[i] = intake.Parse(fs[i].Raw)
		}
	})
	return msgs
}

// independentPrefix is how many messages from the start name neither an
// earlier message of msgs nor one in pending (trimmed Message-IDs not yet
// committed) in In-Reply-To or References. Without pending it is at least 1.
func independentPrefix(msgs []*intake.Message, pending map[string]bool) int {
	seen := make(map[string]bool, len(msgs))
	for i, m := range msgs {
		for _, ids := range [][]string{m.InReplyTo, m.References} {
			for _, id := range ids {
				id = strings.Trim(id, "<> ")
				if (i > 0 && seen[id]) || pending[id] {
					return i
				}
			}
		}
		seen[strings.Trim(m.MessageID, "<> ")] = true
	}
	return len(msgs)
}

// parallel runs f(0) … f(n-1) on up to runtime.NumCPU goroutines.
func parallel(n int, f func(i int)) {
	workers := min(runtime.NumCPU(), n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
