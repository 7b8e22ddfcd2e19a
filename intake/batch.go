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

// handOver hands f to the Handler: at once for a plain Handler, else
// with the next flush.
func (s *session) handOver(ctx context.Context, f *Fetched) error {
	if _, ok := s.p.h.(BatchHandler); !ok {
		return s.handleOne(ctx, f)
	}
	s.pending = append(s.pending, f)
	s.pendingBytes += len(f.Raw)
	if s.pendingBytes >= maxPendingBytes {
		return s.flush(ctx)
	}
	return nil
}

// flush hands the pending messages to the BatchHandler; when that fails,
// one by one.
func (s *session) flush(ctx context.Context) error {
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
	if err := bh.HandleBatch(ctx, batch); err != nil {
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
// on whose sizes are at most MaxMessageSize, up to maxPendingBytes in all,
// instead of a command and a round trip each. A message the run did not
// bring (expunged meanwhile, or larger than it said) is fetched alone, as
// before. Like fetch, it returns nil for a message that has gone.
func (s *session) fetchAhead(rest []imap.UID, sizes map[imap.UID]int64) (*Fetched, error) {
	uid := rest[0]
	size := sizes[uid]
	if f, ok := s.ahead[uid]; ok {
		delete(s.ahead, uid)
		f.Size = size
		return f, nil
	}
	if s.aheadCovered[uid] || size > s.p.cfg.MaxMessageSize {
		return s.fetch(uid, size)
	}
	var run []imap.UID
	var total int64
	for _, u := range rest {
		sz, ok := sizes[u]
		if !ok {
			continue
		}
		if sz > s.p.cfg.MaxMessageSize || (len(run) > 0 && total+sz > maxPendingBytes) {
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
		f.Size = size
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
