package intake

// imap.go is the first step of a message's way into Loket: a Poller watches
// one IMAP mailbox and hands every new message, as raw bytes with its UID,
// to a Handler (the workflow), which stores it and advances the mailbox's
// cursor in the same transaction. imap_session.go holds what happens on one
// connection (login, the pass over new UIDs, IDLE); imap_conn.go the dialling,
// deadlines and backoff.
//
// Loket only reads: it fetches with BODY.PEEK (so \Seen is never set), never
// stores flags, never expunges and never deletes. The only change it makes
// to a mailbox is moving handled mail to ProcessedFolder when one is set.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Defaults for the zero values of MailboxConfig.
const (
	DefaultFolder         = "INBOX"
	DefaultMaxMessageSize = 50 << 20 // bytes
	DefaultPollInterval   = 60 * time.Second
	DefaultBatchSize      = 2000
	DefaultDialTimeout    = 30 * time.Second
	DefaultCommandTimeout = 2 * time.Minute
)

// idleRestart is the longest Loket stays in one IDLE command: RFC 2177 asks
// clients to re-issue IDLE at least every 29 minutes.
const idleRestart = 25 * time.Minute

// Backoff between failed sessions: 1s doubling to 5 minutes, ±20 %.
const (
	backoffMin = time.Second
	backoffMax = 5 * time.Minute
)

// ErrPlaintextRemote is returned by Run when TLS is "none" for a host that
// is not a loopback address: passwords never travel in clear text over a
// network.
var ErrPlaintextRemote = errors.New(`TLS "none" is only allowed to a loopback host`)

// MailboxConfig says where one mailbox is and how to poll it.
type MailboxConfig struct {
	Name    string // Loket's name for the mailbox; the Handler's cursor key
	Address string // the mailbox's e-mail address, for logs and replies

	Host string
	Port int    // 0: 993 for "tls", 143 otherwise
	TLS  string // "tls" (implicit, the default), "starttls" or "none" (loopback only)

	Username, Password string

	// TokenSource, when set, signs in with AUTHENTICATE XOAUTH2 and a token
	// from it instead of LOGIN with Password (see NewTokenSource). A token
	// is asked for at every login; the source renews it before it expires.
	TokenSource oauth2.TokenSource
	// OnTokenError and OnTokenOK, when set, hear of every failure to get a
	// token and of the first token after failures (and the very first),
	// with the mailbox's Name: the alerting hooks. They must not block.
	OnTokenError func(mailbox string, err error)
	OnTokenOK    func(mailbox string)

	Folder          string // default "INBOX"
	ProcessedFolder string // handled mail is moved here; "" leaves it where it is

	// MaxMessageSize is the largest message fetched whole, in bytes; of a
	// larger one only the header is fetched. 0 means 50 MiB.
	MaxMessageSize int64
	// PollInterval is how often the mailbox is looked at when the server
	// has no IDLE, and how often IDLE is interrupted for a safety re-check.
	// 0 means 60s.
	PollInterval time.Duration
	// IdleRecheck, above 0, looks at the mailbox with NOOP this often
	// instead of idling (also on a server without IDLE). A server that
	// delays telling an idling client of new mail (Dovecot: 0.5 s, fixed
	// at compile time) looks at the mailbox at every NOOP, so new mail is
	// found within IdleRecheck, at the cost of a command and a mailbox
	// sync on the server per recheck. 0 (the default) idles undisturbed
	// until the server reports new mail or PollInterval passes: right for
	// servers that notify promptly (Microsoft 365), where frequent
	// rechecks are only load.
	IdleRecheck time.Duration
	// BatchSize is how many UIDs one FETCH of sizes asks for, and so the
	// most messages handed to a BatchHandler at once, but for a batch
	// followed by only a few (at most a quarter of it), which takes them
	// too. 0 means 2000.
	BatchSize int
	// InitialSync says what happens on the first start (no stored cursor)
	// to the mail already in the folder: InitialSyncImport (also ""),
	// InitialSyncImportSilent or InitialSyncNewOnly (backlog.go).
	InitialSync string

	// TLSConfig is used for "tls" and "starttls" (tests: a custom CA).
	// nil means the system roots; an empty ServerName becomes Host.
	TLSConfig *tls.Config

	DialTimeout    time.Duration // connect and TLS handshake; 0 means 30s
	CommandTimeout time.Duration // each IMAP command; 0 means 2m
}

// withDefaults returns c with every zero value replaced by its default.
func (c MailboxConfig) withDefaults() MailboxConfig {
	if c.TLS == "" {
		c.TLS = "tls"
	}
	c.TLS = strings.ToLower(c.TLS)
	if c.Port == 0 {
		c.Port = 143
		if c.TLS == "tls" {
			c.Port = 993
		}
	}
	if c.Folder == "" {
		c.Folder = DefaultFolder
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.Name == "" {
		c.Name = c.Username + "@" + c.Host
	}
	return c
}

// check reports configuration errors that no retry can fix.
func (c MailboxConfig) check() error {
	if c.Host == "" {
		return fmt.Errorf("mailbox %s: no host", c.Name)
	}
	if c.Username == "" {
		return fmt.Errorf("mailbox %s: no username", c.Name)
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("mailbox %s: bad port %d", c.Name, c.Port)
	}
	switch c.TLS {
	case "tls", "starttls":
	case "none":
		if !isLoopback(c.Host) {
			return fmt.Errorf("mailbox %s: %w, not %q", c.Name, ErrPlaintextRemote, c.Host)
		}
	default:
		return fmt.Errorf("mailbox %s: TLS must be \"tls\", \"starttls\" or \"none\", not %q", c.Name, c.TLS)
	}
	if c.ProcessedFolder != "" && strings.EqualFold(c.ProcessedFolder, c.Folder) {
		return fmt.Errorf("mailbox %s: ProcessedFolder is the polled folder %q", c.Name, c.Folder)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Cursor is how far a mailbox has been handled: every message with a UID up
// to LastUID under UIDValidity has been stored.
type Cursor struct {
	UIDValidity uint32
	LastUID     uint32
	// BacklogUntil is the highest UID in the folder when Loket first
	// looked at it, for InitialSync "import-silent": messages up to it are
	// the backlog (Fetched.Backlog). Kept with the cursor so that an import
	// cut short resumes with the same boundary (backlog.go).
	BacklogUntil uint32 `json:",omitempty"`
}

// Fetched is one message as fetched from a mailbox.
type Fetched struct {
	Mailbox     string // MailboxConfig.Name
	UIDValidity uint32
	UID         uint32
	Raw         []byte // the whole message, or only its header when HeaderOnly
	Size        int64  // RFC822.SIZE: the whole message's size on the server
	HeaderOnly  bool   // the message exceeded MaxMessageSize
	// Backlog says the message was in the folder before Loket first looked
	// at it and InitialSync is "import-silent": store it, send nothing.
	Backlog bool
	// Parsed, when not nil, is Parse(Raw), done by the poller while the
	// batch before was being stored (batch.go, parseAhead). A
	// BatchHandler may take it instead of parsing Raw, and must not
	// change it.
	Parsed *Message
}

// Handler receives what a Poller fetches. The workflow implements it.
type Handler interface {
	// Cursor returns the stored position for the mailbox (zero if none).
	Cursor(ctx context.Context, mailbox string) (Cursor, error)
	// Handle stores one message and advances the cursor to f.UID in the same
	// transaction. Messages are handed over in ascending UID order. An error
	// stops the pass; the message is fetched again later.
	Handle(ctx context.Context, f Fetched) error
}

// PollerStatus is a snapshot of a Poller, for the desk's status page.
type PollerStatus struct {
	Mailbox     string
	Connected   bool      // logged in with the folder selected
	LastPoll    time.Time // end of the last complete pass
	LastError   string    // the most recent failure, kept after recovery
	LastErrorAt time.Time
	RetryAt     time.Time // when the next connection attempt is due; zero unless backing off
	Failures    int       // failed sessions in a row without a complete pass
	Cursor      Cursor    // the position seen last: from the Handler, then each handled UID
	Handled     int64     // messages handed to the Handler successfully since start
}

// Poller polls one mailbox. Each mailbox has its own Poller, independent of
// the others: one's failure never holds up another.
type Poller struct {
	cfg  MailboxConfig
	h    Handler
	log  *slog.Logger
	kick chan struct{}

	// For tests: backoff bounds and pretending the server has no IDLE.
	backoffMin, backoffMax time.Duration
	noIdle                 bool

	// Only used by Run's goroutine.
	warnedCopy     bool
	warnedValidity [2]uint32

	mu     sync.Mutex
	status PollerStatus
}

// NewPoller returns a Poller for cfg that hands messages to h and logs to
// log (nil: slog.Default). Run starts it.
func NewPoller(cfg MailboxConfig, h Handler, log *slog.Logger) *Poller {
	cfg = cfg.withDefaults()
	if cfg.TokenSource != nil {
		cfg.TokenSource = WatchTokens(cfg.Name, cfg.TokenSource, cfg.OnTokenError, cfg.OnTokenOK)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Poller{
		cfg:        cfg,
		h:          h,
		log:        log.With("mailbox", cfg.Name),
		kick:       make(chan struct{}, 1),
		backoffMin: backoffMin,
		backoffMax: backoffMax,
		status:     PollerStatus{Mailbox: cfg.Name},
	}
}

// Kick asks the Poller to look at the mailbox now. Kicks collapse: any
// number of them before the Poller gets round to it cause one pass. Kick
// never blocks.
func (p *Poller) Kick() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Status returns a snapshot of the Poller's state. It is safe to call from
// any goroutine.
func (p *Poller) Status() PollerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

func (p *Poller) update(f func(*PollerStatus)) {
	p.mu.Lock()
	f(&p.status)
	p.mu.Unlock()
}

// Run polls the mailbox until ctx is done, then returns nil. It returns an
// error only for a configuration no retry can fix (see ErrPlaintextRemote).
// Connection, server and Handler errors are logged and retried with capped
// exponential backoff; the backoff starts again after a complete pass.
func (p *Poller) Run(ctx context.Context) error {
	if err := p.cfg.check(); err != nil {
		p.update(func(s *PollerStatus) { s.LastError, s.LastErrorAt = err.Error(), time.Now() })
		return err
	}
	failures := 0
	for {
		passes, err := p.session(ctx)
		p.update(func(s *PollerStatus) { s.Connected = false })
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("session ended")
		}
		if passes > 0 {
			failures = 0
		}
		failures++
		delay := backoff(failures, p.backoffMin, p.backoffMax)
		now := time.Now()
		p.update(func(s *PollerStatus) {
			s.LastError, s.LastErrorAt, s.RetryAt, s.Failures = err.Error(), now, now.Add(delay), failures
		})
		p.log.Log(ctx, failureLevel(err, failures), "imap: mailbox session failed", "err", err, "failures", failures, "retry_in", delay.Round(time.Millisecond))
		if !sleep(ctx, delay) {
			return nil
		}
		p.update(func(s *PollerStatus) { s.RetryAt = time.Time{} })
	}
}
