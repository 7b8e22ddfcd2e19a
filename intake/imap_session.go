package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// session is one connection to the mailbox, from LOGIN until an error or
// the end of ctx.
type session struct {
	p           *Poller
	c           *imapclient.Client
	dc          *deadlineConn
	uidValidity uint32
	uidNext     uint32 // UIDNEXT at SELECT; 0 when the server did not say
	idle        bool   // the server offers IDLE
	move        bool   // the server offers MOVE
	folderReady bool   // ProcessedFolder is known to exist
	swept       bool   // handled mail left behind has been moved

	waited time.Time // when wait last returned, so when the pass after it looked at the folder

	pending      []*Fetched // fetched, not yet handed to a BatchHandler
	pendingBytes int
	ahead        map[imap.UID]*Fetched // fetched together with an earlier UID
	aheadCovered map[imap.UID]bool     // UIDs the last fetch ahead asked for
	flight       *batchFlight          // a batch being stored (batch.go)
}

// session connects, logs in, selects the folder and then alternates passes
// and waits until something fails or ctx is done. It returns how many
// passes completed, and why it ended.
func (p *Poller) session(ctx context.Context) (passes int, err error) {
	opts := &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			// An EXISTS outside a command's own response (typically while
			// idling) means new mail: look now. This runs in go-imap's
			// reader goroutine and must not block; Kick does not.
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					p.Kick()
				}
			},
		},
	}
	c, dc, err := p.dial(ctx, opts)
	if err != nil {
		return 0, err
	}
	stop := closeOn(ctx, dc.Conn)
	defer func() {
		stop()
		c.Close()
	}()

	s := &session{p: p, c: c, dc: dc}
	if err := s.login(ctx); err != nil {
		return 0, err
	}
	var sel *imap.SelectData
	if err := s.do("SELECT "+p.cfg.Folder, p.cfg.CommandTimeout, func() error {
		var err error
		sel, err = c.Select(p.cfg.Folder, nil).Wait()
		return err
	}); err != nil {
		return 0, err
	}
	s.uidValidity = sel.UIDValidity
	s.uidNext = uint32(sel.UIDNext)
	if err := s.do("CAPABILITY", p.cfg.CommandTimeout, func() error {
		caps := c.Caps()
		if caps == nil {
			return errors.New("no capabilities")
		}
		s.idle = caps.Has(imap.CapIdle) && !p.noIdle
		s.move = caps.Has(imap.CapMove)
		return nil
	}); err != nil {
		return 0, err
	}
	p.update(func(st *PollerStatus) { st.Connected = true })
	p.log.Info("imap: connected", "folder", p.cfg.Folder, "uidvalidity", s.uidValidity,
		"messages", sel.NumMessages, "idle", s.idle, "move", s.move)

	for {
		if err := s.pass(ctx); err != nil {
			return passes, err
		}
		passes++
		now := time.Now()
		p.update(func(st *PollerStatus) { st.LastPoll, st.Failures = now, 0 })
		if err := s.wait(ctx); err != nil {
			return passes, err
		}
	}
}

// do runs one command with all I/O bounded by timeout and names the
// command in its error.
func (s *session) do(what string, timeout time.Duration, f func() error) error {
	s.dc.limitFor(timeout)
	err := f()
	s.dc.limitFor(0)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// pass hands every message after the Handler's cursor to the Handler, in
// UID order.
func (s *session) pass(ctx context.Context) error {
	p := s.p
	defer s.dropFlight()
	cur, err := p.h.Cursor(ctx, p.cfg.Name)
	if err != nil {
		return fmt.Errorf("read cursor: %w", err)
	}
	if cur, err = s.firstStart(ctx, cur); err != nil { // backlog.go
		return err
	}
	last := cur.LastUID
	if cur.UIDValidity != 0 && cur.UIDValidity != s.uidValidity {
		// The server renumbered the folder: the stored UIDs mean nothing
		// any more. Offer everything again; the Handler recognises what it
		// has by Message-ID.
		if p.warnedValidity != [2]uint32{cur.UIDValidity, s.uidValidity} {
			p.warnedValidity = [2]uint32{cur.UIDValidity, s.uidValidity}
			p.log.Warn("imap: UIDVALIDITY changed, rescanning the folder from UID 1",
				"stored", cur.UIDValidity, "server", s.uidValidity)
		}
		last = 0
	}
	p.update(func(st *PollerStatus) { st.Cursor = Cursor{UIDValidity: s.uidValidity, LastUID: last} })

	if !s.swept && last > 0 && p.cfg.ProcessedFolder != "" && s.move {
		if err := s.sweep(last); err != nil {
			return err
		}
	}
	s.swept = true

	uids, err := s.search(last)
	if err != nil {
		return err
	}
	for batch := range rampedChunks(uids, p.cfg.BatchSize) { // batch.go
		sizes, err := s.sizes(batch)
		if err != nil {
			return err
		}
		for i, uid := range batch {
			if err := ctx.Err(); err != nil {
				return err
			}
			if _, ok := sizes[uid]; !ok {
				continue // expunged since the search
			}
			f, err := s.fetchAhead(ctx, batch[i:], sizes) // batch.go
			if err != nil {
				return err
			}
			if f == nil {
				continue // expunged since the sizes
			}
			f.Backlog = cur.UIDValidity == s.uidValidity && f.UID <= cur.BacklogUntil
			if err := s.handOver(ctx, f); err != nil { // batch.go
				return err
			}
		}
		if err := s.flushAsync(ctx); err != nil { // batch.go: stored while the next is fetched
			return err
		}
	}
	return s.settle(ctx)
}

// handleOne hands one message to the Handler, then moves it when
// ProcessedFolder is set.
func (s *session) handleOne(ctx context.Context, f *Fetched) error {
	p := s.p
	if err := p.h.Handle(ctx, *f); err != nil {
		return &HandleError{UID: f.UID, Err: err}
	}
	p.update(func(st *PollerStatus) {
		st.Cursor = Cursor{UIDValidity: s.uidValidity, LastUID: f.UID}
		st.Handled++
	})
	if p.cfg.ProcessedFolder != "" {
		if err := s.moveHandled(imap.UIDSetNum(imap.UID(f.UID))); err != nil {
			return err
		}
	}
	return nil
}

// sweep moves messages the Handler already has (UID up to last) but that
// are still in the folder, because the connection broke between Handle and
// MOVE, to ProcessedFolder. It runs once per connection and only with MOVE:
// with COPY the originals stay, and copying them again would double them.
func (s *session) sweep(last uint32) error {
	var set imap.UIDSet
	set.AddRange(1, imap.UID(last))
	var data *imap.SearchData
	if err := s.do("UID SEARCH handled", s.p.cfg.CommandTimeout, func() error {
		var err error
		data, err = s.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
		return err
	}); err != nil {
		return err
	}
	left := slices.DeleteFunc(data.AllUIDs(), func(u imap.UID) bool { return uint32(u) > last })
	if len(left) == 0 {
		return nil
	}
	s.p.log.Info("imap: moving handled messages left in the folder", "count", len(left), "processed_folder", s.p.cfg.ProcessedFolder)
	return s.moveHandled(imap.UIDSetNum(left...))
}

// searchReturn asks a server with ESEARCH (RFC 4731) for the UIDs a search
// finds as ranges ("1:10000") instead of one number each.
func (s *session) searchReturn() *imap.SearchOptions {
	if s.c.Caps().Has(imap.CapESearch) {
		return &imap.SearchOptions{ReturnAll: true}
	}
	return nil
}

// search returns the UIDs above last, ascending. "UID n:*" always matches
// the highest UID even when it is below n, so the answer is filtered.
func (s *session) search(last uint32) ([]imap.UID, error) {
	if last == ^uint32(0) {
		return nil, nil
	}
	var set imap.UIDSet
	set.AddRange(imap.UID(last+1), 0) // 0 is "*"
	var data *imap.SearchData
	err := s.do("UID SEARCH", s.p.cfg.CommandTimeout, func() error {
		var err error
		data, err = s.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, s.searchReturn()).Wait()
		return err
	})
	if err != nil {
		return nil, err
	}
	uids := slices.DeleteFunc(data.AllUIDs(), func(u imap.UID) bool { return uint32(u) <= last })
	slices.Sort(uids)
	return slices.Compact(uids), nil
}

// smallSize is the size a batch gives a message of at most that many bytes
// (or MaxMessageSize, if less) instead of its RFC822.SIZE: an upper bound,
// enough to decide how it is fetched (many to a command, up to
// maxPendingBytes) and how much a run holds. Its Fetched.Size is the
// length of what was fetched, which is its RFC822.SIZE (fetchedSize).
const smallSize = 32 << 10

// small is the size sizes gives the messages it does not ask the size of.
func (s *session) small() int64 { return min(smallSize, s.p.cfg.MaxMessageSize) }

// fetchedSize is the Size of f, which sizes gave size: RFC822.SIZE, or the
// length of the message fetched whole when size is only small's bound.
func (s *session) fetchedSize(size int64, f *Fetched) int64 {
	if size == s.small() && !f.HeaderOnly {
		return int64(len(f.Raw))
	}
	return size
}

// sizes returns a size for each UID of the batch: RFC822.SIZE for the
// messages larger than small, found with one UID SEARCH LARGER, and small
// for the others. A backlog of ordinary mail so costs two commands with
// short answers, not a FETCH response for every message. A UID expunged
// meanwhile may be in the answer; fetching it finds nothing.
func (s *session) sizes(batch []imap.UID) (map[imap.UID]int64, error) {
	set := imap.UIDSetNum(batch...)
	var big []imap.UID
	if err := s.do("UID SEARCH LARGER", s.p.cfg.CommandTimeout, func() error {
		data, err := s.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}, Larger: s.small()}, s.searchReturn()).Wait()
		if err == nil {
			big = data.AllUIDs()
		}
		return err
	}); err != nil {
		return nil, err
	}
	sizes := make(map[imap.UID]int64, len(batch))
	for _, uid := range batch {
		sizes[uid] = s.small()
	}
	if len(big) == 0 {
		return sizes, nil
	}
	asked := make(map[imap.UID]bool, len(big))
	for _, uid := range big {
		if _, ok := sizes[uid]; ok {
			delete(sizes, uid) // a size of its own, or gone
			asked[uid] = true
		}
	}
	err := s.do("UID FETCH sizes", s.p.cfg.CommandTimeout, func() error {
		bufs, err := s.c.Fetch(imap.UIDSetNum(big...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
		for _, b := range bufs {
			if asked[b.UID] {
				sizes[b.UID] = b.RFC822Size
			}
		}
		return err
	})
	return sizes, err
}

// fetch fetches one message, whole if it is at most MaxMessageSize and its
// header otherwise. It returns nil if the message has gone.
func (s *session) fetch(uid imap.UID, size int64) (*Fetched, error) {
	max := s.p.cfg.MaxMessageSize
	headerOnly := size > max
	raw, found, tooBig, err := s.fetchSection(uid, headerOnly, size)
	if err == nil && tooBig {
		// The server sent more than it said the message has: take the
		// header rather than hold an unbounded amount.
		s.p.log.Warn("imap: message larger than its RFC822.SIZE, fetching the header only", "uid", uid, "size", size)
		headerOnly = true
		raw, found, _, err = s.fetchSection(uid, true, size)
	}
	if err != nil || !found {
		return nil, err
	}
	f := &Fetched{
		Mailbox:     s.p.cfg.Name,
		UIDValidity: s.uidValidity,
		UID:         uint32(uid),
		Raw:         raw,
		HeaderOnly:  headerOnly,
	}
	f.Size = s.fetchedSize(size, f)
	return f, nil
}

// fetchSection runs one UID FETCH of BODY.PEEK[] or BODY.PEEK[HEADER] and
// reads the literal into a slice of exactly its size, so the message is
// held once. A literal above MaxMessageSize is not read: tooBig reports it
// (for a header, only the first MaxMessageSize bytes are kept).
func (s *session) fetchSection(uid imap.UID, header bool, size int64) (raw []byte, found, tooBig bool, err error) {
	max := s.p.cfg.MaxMessageSize
	section := &imap.FetchItemBodySection{Peek: true}
	if header {
		section.Specifier = imap.PartSpecifierHeader
	}
	// Large messages get longer than one command's timeout: at least
	// 256 KiB/s.
	timeout := s.p.cfg.CommandTimeout + time.Duration(min(size, max)/(256<<10))*time.Second
	what := fmt.Sprintf("UID FETCH %d", uid)
	err = s.do(what, timeout, func() error {
		cmd := s.c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{
			UID:         true,
			BodySection: []*imap.FetchItemBodySection{section},
		})
		var readErr error
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			for item := msg.Next(); item != nil; item = msg.Next() {
				body, ok := item.(imapclient.FetchItemDataBodySection)
				if !ok || readErr != nil {
					continue
				}
				found = true
				if body.Literal == nil { // NIL: an empty message
					raw = []byte{}
					continue
				}
				n := body.Literal.Size()
				if n > max {
					if !header {
						tooBig = true
						continue // Next discards the literal unread
					}
					n = max
				}
				raw = make([]byte, n)
				if _, err := io.ReadFull(body.Literal, raw); err != nil {
					readErr = fmt.Errorf("read literal: %w", err)
				}
			}
		}
		return errors.Join(readErr, cmd.Close())
	})
	return raw, found, tooBig, err
}

// moveHandled moves handled messages to ProcessedFolder: with MOVE where
// the server has it, else with COPY, leaving the original (Loket never
// deletes). A refusal by the server is logged and the pass goes on: the
// message has been stored, and the cursor is past it.
func (s *session) moveHandled(set imap.UIDSet) error {
	p := s.p
	folder := p.cfg.ProcessedFolder
	if !s.folderReady {
		if err := s.ensureFolder(folder); err != nil {
			return err
		}
		s.folderReady = true
	}
	var err error
	if s.move {
		// Only with MOVE advertised: otherwise Client.Move falls back to
		// STORE \Deleted and EXPUNGE, which Loket never does.
		err = s.do("UID MOVE "+set.String(), p.cfg.CommandTimeout, func() error {
			_, err := s.c.Move(set, folder).Wait()
			return err
		})
	} else {
		if !p.warnedCopy {
			p.warnedCopy = true
			p.log.Warn("imap: server has no MOVE; copying handled mail to the processed folder and leaving the original", "processed_folder", folder)
		}
		err = s.do("UID COPY "+set.String(), p.cfg.CommandTimeout, func() error {
			_, err := s.c.Copy(set, folder).Wait()
			return err
		})
	}
	var imapErr *imap.Error
	if errors.As(err, &imapErr) {
		if imapErr.Code == imap.ResponseCodeTryCreate {
			s.folderReady = false // deleted meanwhile: create it again next time
		}
		p.log.Warn("imap: could not move handled mail", "uids", set.String(), "processed_folder", folder, "err", err)
		return nil
	}
	return err
}

// ensureFolder creates folder unless LIST shows it exists.
func (s *session) ensureFolder(folder string) error {
	var exists bool
	err := s.do("LIST "+folder, s.p.cfg.CommandTimeout, func() error {
		l, err := s.c.List("", folder, nil).Collect()
		exists = len(l) > 0
		return err
	})
	if err != nil || exists {
		return err
	}
	err = s.do("CREATE "+folder, s.p.cfg.CommandTimeout, func() error {
		return s.c.Create(folder, nil).Wait()
	})
	var imapErr *imap.Error
	if errors.As(err, &imapErr) && imapErr.Code == imap.ResponseCodeAlreadyExists {
		return nil
	}
	if err == nil {
		s.p.log.Info("imap: created processed folder", "processed_folder", folder)
	}
	return err
}

// wait returns when it is time for the next pass: a Kick (an EXISTS while
// idling is one), PollInterval passing (a safety re-check, and a restart of
// IDLE), or an error. ctx's end is an error. With IdleRecheck the mailbox
// is looked at with NOOP that often instead of IDLE (recheck).
func (s *session) wait(ctx context.Context) error {
	p := s.p
	// A kick that came in during the pass means look again now.
	select {
	case <-p.kick:
		return nil
	default:
	}
	interval := p.cfg.PollInterval
	if p.cfg.IdleRecheck > 0 {
		err := s.recheck(ctx, interval)
		s.waited = time.Now()
		return err
	}
	if !s.idle {
		t := time.NewTimer(interval)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-p.kick:
		}
		return nil
	}

	interval = min(interval, idleRestart)
	var idle *imapclient.IdleCommand
	if err := s.do("IDLE", p.cfg.CommandTimeout, func() error {
		var err error
		idle, err = s.c.Idle()
		return err
	}); err != nil {
		return err
	}
	t := time.NewTimer(interval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		// The connection is being closed (closeOn); go-imap ends the IDLE
		// goroutine when it is.
		return ctx.Err()
	case <-s.c.Closed():
		return errors.New("connection closed while idling")
	case <-t.C:
	case <-p.kick:
	}
	return s.do("DONE", p.cfg.CommandTimeout, func() error {
		if err := idle.Close(); err != nil {
			return err
		}
		return idle.Wait()
	})
}

// recheck sends NOOP every IdleRecheck until the server answers one with
// new mail (an EXISTS, which kicks), a Kick comes, or interval passes. A
// server that tells an idling client of new mail only after a delay
// (Dovecot: 0.5 s) looks at the mailbox at every NOOP. NOOP rather than
// ending and restarting IDLE: the same delay to find new mail, one round
// trip instead of two (docs/PERFORMANCE.md). The first NOOP is due
// IdleRecheck after the pass began, not after it ended: mail that came
// during a long pass is looked for at once.
func (s *session) recheck(ctx context.Context, interval time.Duration) error {
	p := s.p
	until := time.Now().Add(interval)
	t := time.NewTimer(min(p.cfg.IdleRecheck-time.Since(s.waited), interval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.c.Closed():
			return errors.New("connection closed while waiting")
		case <-p.kick:
			return nil
		case <-t.C:
		}
		if !time.Now().Before(until) {
			return nil
		}
		if err := s.do("NOOP", p.cfg.CommandTimeout, func() error { return s.c.Noop().Wait() }); err != nil {
			return err
		}
		// go-imap hands an EXISTS in the answer to the handler, which
		// kicks, before Wait returns.
		select {
		case <-p.kick:
			return nil
		default:
		}
		t.Reset(min(p.cfg.IdleRecheck, time.Until(until)))
	}
}
