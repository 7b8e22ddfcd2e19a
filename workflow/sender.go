package workflow

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
	"golang.org/x/oauth2"
)

// SMTPConfig says how the Sender reaches the SMTP server.
type SMTPConfig struct {
	Host        string
	Port        int
	TLS         string // "tls" | "starttls" | "none"
	Username    string // empty: no AUTH
	Password    string
	Timeout     time.Duration
	TLSConfig   *tls.Config // nil: system roots, ServerName = Host
	MaxAttempts int         // an entry fails permanently after this many; 0 = 20
	// RetryBase is the first retry delay, doubled per attempt up to RetryMax.
	RetryBase, RetryMax time.Duration
	// MaxConnections is how many connections the outbox is drained over
	// in parallel; 0 means DefaultMaxConnections.
	MaxConnections int
	// ConnIdle is how long a connection is kept open after its last mail
	// for the next pass; 0 means DefaultConnIdle.
	ConnIdle time.Duration

	// TokenSource, when set, signs in with AUTH XOAUTH2 as Username and a
	// token from it instead of Password; a token is asked for per
	// connection (see intake.NewTokenSource).
	TokenSource oauth2.TokenSource
	// OnTokenError and OnTokenOK are the alerting hooks of
	// intake.WatchTokens, called with the name "smtp".
	OnTokenError func(name string, err error)
	OnTokenOK    func(name string)
}

// Defaults for the zero values of SMTPConfig's connection fields.
const (
	DefaultMaxConnections = 4
	DefaultConnIdle       = 30 * time.Second
)

// Sender delivers the outbox. A pass drains the due entries over up to
// MaxConnections connections in parallel, each entry taken by exactly one
// of them; connections stay open for ConnIdle after a pass for the next
// one.
type Sender struct {
	store *Store
	cfg   SMTPConfig
	log   *slog.Logger
	kick  chan struct{}
	now   Clock

	mu     sync.Mutex
	status SenderStatus

	poolMu sync.Mutex
	pool   []*smtpConn // open and unused, the most recently used last
}

// smtpConn is one open SMTP connection: sc, made and used by c.
type smtpConn struct {
	c        *mail.Client
	sc       *smtp.Client
	lastUsed time.Time // monotonic, for ConnIdle
}

// SenderStatus is the sender's last known state, for health checks.
type SenderStatus struct {
	LastPass    time.Time `json:"last_pass,omitzero"`
	LastSent    time.Time `json:"last_sent,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	Sent        int       `json:"sent"`
	Failed      int       `json:"failed"`
}

// NewSender returns a Sender for the store's outbox.
func NewSender(st *Store, cfg SMTPConfig, log *slog.Logger) *Sender {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 20
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 30 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = time.Hour
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.ConnIdle <= 0 {
		cfg.ConnIdle = DefaultConnIdle
	}
	if cfg.TokenSource != nil {
		cfg.TokenSource = watchSMTPTokens(cfg)
	}
	return &Sender{store: st, cfg: cfg, log: log, kick: make(chan struct{}, 1), now: time.Now}
}

// Kick asks the sender to look at the outbox now. It never blocks.
func (s *Sender) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Status returns a copy of the sender's status.
func (s *Sender) Status() SenderStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Run delivers due outbox entries until ctx is done, then closes its
// connections.
func (s *Sender) Run(ctx context.Context) error {
	defer s.closeIdle(true)
	for {
		next, err := s.pass(ctx)
		if err != nil {
			s.log.Error("outbox pass failed", "err", err)
			next = s.now().Add(s.cfg.RetryBase)
		}
		wait := time.Minute
		if !next.IsZero() {
			wait = max(time.Until(next), 10*time.Millisecond)
		}
		if exp := s.idleExpiry(); !exp.IsZero() {
			// Wake to close connections nobody used for ConnIdle.
			wait = min(wait, max(time.Until(exp), 10*time.Millisecond))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-s.kick:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// Close closes the connections kept open between passes. Run does so when
// it returns; Close is for a Sender driven without Run.
func (s *Sender) Close() { s.closeIdle(true) }

// pass sends every due entry over up to MaxConnections connections in
// parallel and returns when the next entry falls due (zero when nothing
// waits).
func (s *Sender) pass(ctx context.Context) (time.Time, error) {
	s.closeIdle(false)
	due, next, err := s.store.dueOutbox(s.now())
	if err != nil {
		return time.Time{}, err
	}
	s.mu.Lock()
	s.status.LastPass = s.now()
	s.mu.Unlock()
	if len(due) == 0 {
		return next, nil
	}
	// Each entry goes to exactly one worker over the unbuffered channel.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	work := make(chan OutboxEntry)
	workers := min(s.cfg.MaxConnections, len(due))
	j := newJournal(s.store)
	defer j.close()
	errs := make([]error, workers)
	var live atomic.Int32
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			if errs[i] = s.drain(wctx, work, j, &live); errs[i] != nil {
				stop()
			}
		})
	}
feed:
	for _, e := range due {
		select {
		case work <- e:
		case <-wctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return time.Time{}, err
	}
	_, next, err = s.store.dueOutbox(s.now())
	return next, err
}

// dialError is a failure to reach or sign in to the SMTP server, recorded
// as the attempt's error of every entry the worker takes.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// drain sends the entries it takes from work over one connection: a kept
// one (checked with RSET) or a new one, dialled before the first entry's
// attempt is recorded, so that a connection that died while idle costs no
// attempt. live counts the workers holding a connection. It returns an
// error only when the pass must stop: no client could be made (a token),
// or a result could not be recorded.
func (s *Sender) drain(ctx context.Context, work <-chan OutboxEntry, j *journal, live *atomic.Int32) error {
	var conn *smtpConn
	var dialErr error
	defer func() {
		if conn != nil {
			live.Add(-1)
			s.putIdle(conn)
		}
	}()
	for e := range work {
		if ctx.Err() != nil {
			return nil // e is untouched: still due
		}
		if conn == nil && dialErr == nil {
			c, err := s.connect(ctx)
			var de *dialError
			switch {
			case errors.As(err, &de):
				dialErr = de.err
			case err != nil:
				return err // nothing attempted
			default:
				conn = c
				live.Add(1)
			}
		}
		entry, err := j.record(outboxRecord{ID: e.ID, Attempt: true, Now: s.now(), Next: s.now().Add(s.backoff(e.Attempts + 1))})
		if err != nil {
			s.log.Warn("outbox entry skipped", "id", e.ID, "err", err)
			continue
		}
		var sendErr error
		if conn == nil {
			sendErr = fmt.Errorf("connect to %s:%d: %w", s.cfg.Host, s.cfg.Port, dialErr)
		} else {
			var broken bool
			broken, sendErr = s.send(conn, entry)
			if broken {
				// The next entry gets a new connection.
				live.Add(-1)
				go s.closeConn(conn)
				conn = nil
			}
		}
		permanent := isPermanent(sendErr) || (sendErr != nil && entry.Attempts >= s.cfg.MaxAttempts)
		if _, err := j.record(outboxRecord{ID: entry.ID, Now: s.now(), SendErr: sendErr, Permanent: permanent}); err != nil {
			return err
		}
		s.record(entry, sendErr, permanent)
		if conn == nil && dialErr != nil && live.Load() > 0 {
			// The workers with a connection take the rest.
			return nil
		}
	}
	return nil
}

// journal records the attempts and results of a pass's workers in as few
// transactions as it can without making any record wait for more: a
// record waits only for the transaction being committed, and all that
// came meanwhile go into the next one (a group commit: one fsync for up to
// MaxConnections records instead of one each).
type journal struct {
	store *Store
	reqs  chan *journalReq
	done  chan struct{}
}

type journalReq struct {
	rec   outboxRecord
	entry *OutboxEntry
	err   error
	done  chan struct{}
}

func newJournal(st *Store) *journal {
	j := &journal{store: st, reqs: make(chan *journalReq), done: make(chan struct{})}
	go j.run()
	return j
}

func (j *journal) run() {
	defer close(j.done)
	for r := range j.reqs {
		batch := []*journalReq{r}
	more:
		for {
			select {
			case r, ok := <-j.reqs:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		recs := make([]outboxRecord, len(batch))
		for i, r := range batch {
			recs[i] = r.rec
		}
		entries, errs := j.store.recordOutbox(recs)
		for i, r := range batch {
			r.entry, r.err = entries[i], errs[i]
			close(r.done)
		}
	}
}

// record stores rec and returns when it is committed.
func (j *journal) record(rec outboxRecord) (*OutboxEntry, error) {
	r := &journalReq{rec: rec, done: make(chan struct{})}
	j.reqs <- r
	<-r.done
	return r.entry, r.err
}

// close ends the journal once no worker records any more.
func (j *journal) close() {
	close(j.reqs)
	<-j.done
}

// send sends one entry over conn. broken says the connection is no longer
// usable. A message the server accepted counts as sent even when the RSET
// go-mail sends after it fails.
func (s *Sender) send(conn *smtpConn, entry *OutboxEntry) (broken bool, err error) {
	m, err := composeMsg(entry)
	if err != nil {
		return false, permanentError{err}
	}
	err = conn.c.SendWithSMTPClient(conn.sc, m)
	conn.lastUsed = time.Now()
	if err == nil {
		return false, nil
	}
	if m.IsDelivered() {
		s.log.Debug("smtp: mail accepted, connection lost after it", "message_id", entry.MessageID, "err", err)
		return true, nil
	}
	// A refusal leaves the connection usable; a network error does not.
	return conn.c.ResetWithSMTPClient(conn.sc) != nil, err
}

// connect returns a kept connection that answers RSET or, failing that, a
// new one. A failure to dial or sign in is a *dialError; any other error
// means no client could be made.
func (s *Sender) connect(ctx context.Context) (*smtpConn, error) {
	for c := s.takeIdle(); c != nil; c = s.takeIdle() {
		err := c.c.ResetWithSMTPClient(c.sc)
		if err == nil {
			return c, nil
		}
		s.log.Debug("smtp: kept connection lost, dialling again", "err", err)
		go s.closeConn(c)
	}
	client, err := s.client()
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	sc, err := client.DialToSMTPClientWithContext(dctx)
	if err != nil {
		return nil, &dialError{err}
	}
	return &smtpConn{c: client, sc: sc, lastUsed: time.Now()}, nil
}

// takeIdle returns the most recently used kept connection that has not
// been idle for ConnIdle, closing the expired ones; nil when none.
func (s *Sender) takeIdle() *smtpConn {
	s.closeIdle(false)
	s.poolMu.Lock()
	defer s.poolMu.Unlock()
	n := len(s.pool)
	if n == 0 {
		return nil
	}
	c := s.pool[n-1]
	s.pool[n-1] = nil
	s.pool = s.pool[:n-1]
	return c
}

// putIdle keeps c for the next pass.
func (s *Sender) putIdle(c *smtpConn) {
	s.poolMu.Lock()
	s.pool = append(s.pool, c)
	var extra []*smtpConn
	if n := len(s.pool) - s.cfg.MaxConnections; n > 0 {
		extra = append(extra, s.pool[:n]...)
		s.pool = append(s.pool[:0], s.pool[n:]...)
	}
	s.poolMu.Unlock()
	for _, c := range extra {
		go s.closeConn(c)
	}
}

// closeIdle closes the kept connections idle for ConnIdle, in the
// background so that no mail waits for a QUIT, or all before it returns.
func (s *Sender) closeIdle(all bool) {
	s.poolMu.Lock()
	var closing []*smtpConn
	keep := s.pool[:0]
	for _, c := range s.pool {
		if all || time.Since(c.lastUsed) >= s.cfg.ConnIdle {
			closing = append(closing, c)
		} else {
			keep = append(keep, c)
		}
	}
	clear(s.pool[len(keep):])
	s.pool = keep
	s.poolMu.Unlock()
	for _, c := range closing {
		if all {
			s.closeConn(c)
		} else {
			go s.closeConn(c)
		}
	}
}

// idleExpiry returns when the first kept connection reaches ConnIdle; zero
// when none is kept.
func (s *Sender) idleExpiry() time.Time {
	s.poolMu.Lock()
	defer s.poolMu.Unlock()
	var first time.Time
	for _, c := range s.pool {
		if exp := c.lastUsed.Add(s.cfg.ConnIdle); first.IsZero() || exp.Before(first) {
			first = exp
		}
	}
	return first
}

// closeConn ends c with QUIT, or closes it when QUIT fails. The deadline
// is renewed first: a kept connection's has passed while it was idle.
func (s *Sender) closeConn(c *smtpConn) {
	_ = c.sc.UpdateDeadline(s.cfg.Timeout)
	if err := c.c.CloseWithSMTPClient(c.sc); err != nil {
		s.log.Debug("smtp close", "err", err)
		_ = c.sc.Close()
	}
}

func (s *Sender) record(e *OutboxEntry, err error, permanent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil:
		s.status.Sent++
		s.status.LastSent = s.now()
		s.log.Info("mail sent", "ticket", e.TicketRef, "message_id", e.MessageID, "purpose", e.Purpose, "attempt", e.Attempts)
	default:
		s.status.LastError, s.status.LastErrorAt = err.Error(), s.now()
		if permanent {
			s.status.Failed++
			s.log.Error("mail failed permanently", "ticket", e.TicketRef, "message_id", e.MessageID, "attempts", e.Attempts, "err", err)
		} else {
			s.log.Warn("mail not sent, will retry", "ticket", e.TicketRef, "message_id", e.MessageID, "attempt", e.Attempts, "err", err)
		}
	}
}

// backoff returns the delay before attempt n+1: RetryBase doubled per
// attempt, capped at RetryMax, with ±20 % jitter.
func (s *Sender) backoff(n int) time.Duration {
	d := s.cfg.RetryBase
	for i := 1; i < n && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.RetryMax)
	jitter := time.Duration(rand.Int64N(int64(d)/5+1)) - d/10
	return d + jitter
}

func (s *Sender) client() (*mail.Client, error) {
	if err := s.cfg.checkPlaintext(); err != nil { // sender_tls.go
		return nil, err
	}
	// WithoutNoop: connect checks a kept connection with RSET, and go-mail
	// would otherwise send a NOOP before every mail.
	opts := []mail.Option{mail.WithPort(s.cfg.Port), mail.WithTimeout(s.cfg.Timeout), mail.WithoutNoop()}
	tc := s.cfg.TLSConfig
	if tc == nil {
		tc = &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
	}
	switch s.cfg.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL(), mail.WithTLSConfig(tc))
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory), mail.WithTLSConfig(tc))
	}
	if s.cfg.TokenSource != nil {
		auth, err := s.oauth2Options()
		if err != nil {
			return nil, err
		}
		opts = append(opts, auth...)
	} else if s.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(s.cfg.Username), mail.WithPassword(s.cfg.Password))
	} else {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthNoAuth))
	}
	return mail.NewClient(s.cfg.Host, opts...)
}

type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// isPermanent reports whether a send error will not go away by retrying:
// a 5xx answer from the server, or a message we cannot build.
func isPermanent(err error) bool {
	if err == nil {
		return false
	}
	var pe permanentError
	if errors.As(err, &pe) {
		return true
	}
	var se *mail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		return code >= 500 && code < 600
	}
	return false
}
