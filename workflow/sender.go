package workflow

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/wneessen/go-mail"
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

	// TokenSource, when set, signs in with AUTH XOAUTH2 as Username and a
	// token from it instead of Password; a token is asked for per
	// connection (see intake.NewTokenSource).
	TokenSource oauth2.TokenSource
	// OnTokenError and OnTokenOK are the alerting hooks of
	// intake.WatchTokens, called with the name "smtp".
	OnTokenError func(name string, err error)
	OnTokenOK    func(name string)
}

// Sender delivers the outbox.
type Sender struct {
	store *Store
	cfg   SMTPConfig
	log   *slog.Logger
	kick  chan struct{}
	now   Clock

	mu     sync.Mutex
	status SenderStatus
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

// Run delivers due outbox entries until ctx is done.
func (s *Sender) Run(ctx context.Context) error {
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

// pass sends every due entry over one SMTP connection and returns when the
// next entry falls due (zero when nothing waits).
func (s *Sender) pass(ctx context.Context) (time.Time, error) {
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
	client, err := s.client()
	if err != nil {
		return time.Time{}, fmt.Errorf("smtp client: %w", err)
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	dialErr := client.DialWithContext(dctx)
	cancel()
	connected := dialErr == nil
	for _, e := range due {
		if ctx.Err() != nil {
			break
		}
		entry, err := s.store.markAttempt(e.ID, s.now(), s.now().Add(s.backoff(e.Attempts+1)))
		if err != nil {
			s.log.Warn("outbox entry skipped", "id", e.ID, "err", err)
			continue
		}
		var sendErr error
		if !connected {
			sendErr = fmt.Errorf("connect to %s:%d: %w", s.cfg.Host, s.cfg.Port, dialErr)
		} else {
			var m *mail.Msg
			if m, sendErr = composeMsg(entry); sendErr == nil {
				sendErr = client.Send(m)
			} else {
				sendErr = permanentError{sendErr}
			}
		}
		permanent := isPermanent(sendErr) || (sendErr != nil && entry.Attempts >= s.cfg.MaxAttempts)
		if err := s.store.markResult(entry.ID, s.now(), sendErr, permanent); err != nil {
			return time.Time{}, fmt.Errorf("record result of outbox %d: %w", entry.ID, err)
		}
		s.record(entry, sendErr, permanent)
	}
	if connected {
		if err := client.Close(); err != nil {
			s.log.Debug("smtp close", "err", err)
		}
	}
	_, next, err = s.store.dueOutbox(s.now())
	return next, err
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
	opts := []mail.Option{mail.WithPort(s.cfg.Port), mail.WithTimeout(s.cfg.Timeout)}
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
