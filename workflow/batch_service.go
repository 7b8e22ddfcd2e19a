package workflow

// batch_service.go lets the poller hand the Service many messages at once
// (intake.BatchHandler): they are parsed and classified in parallel, one
// worker per CPU, and committed in one transaction (Store.IngestBatch) with
// the cursor advanced to the last, so a backlog costs one fsync per batch
// instead of one per message. Everything else is as Handle does it.

import (
	"context"
	"runtime"
	"strings"
	"sync"

	"github.com/poraad/loket/intake"
)

var _ intake.BatchHandler = (*Service)(nil)

// HandleBatch implements intake.BatchHandler. A message that answers an
// earlier one of the same batch is classified only after that one is
// committed (the thread index must know it), so the batch is committed in
// parts at such messages.
func (s *Service) HandleBatch(ctx context.Context, fs []intake.Fetched) error {
	msgs := parseAll(fs)
	for len(fs) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := independentPrefix(msgs)
		ins := make([]Inbound, n)
		classes := make([]intake.Classification, n)
		parallel(n, func(i int) { classes[i] = s.Classify(msgs[i], fs[i].Mailbox) })
		for i := range n {
			f := fs[i]
			ins[i] = boundedInbound(Inbound{Mailbox: f.Mailbox, UIDValidity: f.UIDValidity, UID: f.UID,
				Raw: f.Raw, Msg: msgs[i], Class: classes[i], HeaderOnly: f.HeaderOnly, Backlog: f.Backlog})
		}
		results, err := s.Store.IngestBatch(ins, s.Policy)
		if err != nil {
			return err
		}
		queued := false
		for i, res := range results {
			s.logResult(fs[i], msgs[i], classes[i], res)
			if s.Observed != nil {
				s.Observed(fs[i].Mailbox, classes[i], res)
			}
			queued = queued || res.OutboxID != 0 || res.Queued > 0
		}
		if queued && s.Committed != nil {
			s.Committed()
		}
		fs, msgs = fs[n:], msgs[n:]
	}
	return nil
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

// independentPrefix is how many messages from the start name no earlier
// message of msgs in In-Reply-To or References; at least 1.
func independentPrefix(msgs []*intake.Message) int {
	seen := make(map[string]bool, len(msgs))
	for i, m := range msgs {
		if i > 0 {
			for _, ids := range [][]string{m.InReplyTo, m.References} {
				for _, id := range ids {
					if seen[strings.Trim(id, "<> ")] {
						return i
					}
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
