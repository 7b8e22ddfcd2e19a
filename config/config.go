// Package config reads Loket's configuration file, a TOML file whose
// commented reference is config.example.toml at the top of the repository.
//
// [Load] reads the file, [Parse] the same from bytes. Both decode every key,
// fill in defaults, check the values, make relative paths relative to the
// folder of the file and read the secrets (passwords and the API token) from
// the files or environment variables the configuration names. What comes
// back is a [Config] that is ready to use: cmd/loket turns its sections into
// the options of intake (mailboxes, classification), workflow (storage,
// tickets, outbox, confirmations), templates and web. This package imports
// no other package of Loket.
//
// # Problems
//
// A configuration that cannot be used gives an [*Error] that lists every
// problem found, each with its key and line, one per line:
//
//	/etc/loket/loket.toml:14: smtp.tls: must be one of "tls", "starttls", "none", not "ssl"
//	/etc/loket/loket.toml:31: mailbox[1].port: must be between 1 and 65535
//
// Keys of [[mailbox]] tables carry the index of the table counted from 0, so
// mailbox[1] is the second [[mailbox]] in the file.
//
// # Secrets
//
// Passwords and the API token are never written in the configuration file
// itself; it names a file (password_file, token_file) or an environment
// variable (password_env, token_env) that holds them. Their values end up
// in fields of type [Secret], which print as "REDACTED" everywhere; problem
// messages name the file or variable, never its content.
package config

import (
	"log/slog"
	"net"
	"strconv"
	"time"
)

// RequestTypes lists the request types a new request can get, in the order
// of the desk's overview. Classification terms and a mailbox's type_prior
// must use these names.
var RequestTypes = []string{
	"praktijktoets",
	"clinic",
	"maatwerkbijeenkomst",
	"werkbijeenkomst",
	"opp-bijeenkomst",
	"training",
	"tweedaagse",
	"goed-voorbeeld",
	"ondersteuningsplanraad",
	"instrumentarium",
	"overig",
}

// TLSMode says how a connection to a mail server is secured.
type TLSMode string

// The TLS modes.
const (
	TLSImplicit TLSMode = "tls"      // TLS from the first byte (IMAP 993, SMTP 465)
	TLSStartTLS TLSMode = "starttls" // plain connection upgraded with STARTTLS (SMTP 587, IMAP 143)
	TLSNone     TLSMode = "none"     // no TLS at all; only allowed to a loopback host
)

// Config is the whole configuration file.
type Config struct {
	Storage        Storage        `toml:"storage"`
	Tickets        Tickets        `toml:"tickets"`
	Web            Web            `toml:"web"`
	API            API            `toml:"api"`
	SMTP           SMTP           `toml:"smtp"`
	Confirmations  Confirmations  `toml:"confirmations"`
	Intake         Intake         `toml:"intake"`
	Classification Classification `toml:"classification"`
	Log            Log            `toml:"log"`
	Runtime        Runtime        `toml:"runtime"`
	Backup         Backup         `toml:"backup"`
	Alerts         Alerts         `toml:"alerts"`
	Retention      Retention      `toml:"retention"`
	Mailboxes      []Mailbox      `toml:"mailbox"`
	Leaders        []Leader       `toml:"leader"`
	Sessions       []Session      `toml:"session"`
	Timers         Timers         `toml:"timers"`
}

// Leader is one [[leader]] table: a project leader who gets tickets.
type Leader struct {
	Name    string `toml:"name"`    // required
	Address string `toml:"address"` // e-mail address, unique; required
	// Types are the request types (names from RequestTypes) this leader
	// takes, round robin with the others; empty for every type.
	Types []string `toml:"types"`
}

// Session is one [[session]] table: a planned meeting registrations are
// placed in.
type Session struct {
	ID       string    `toml:"id"`       // ^[a-z0-9-]+$, unique; required
	Type     string    `toml:"type"`     // a registration type: werkbijeenkomst, opp-bijeenkomst, training, tweedaagse
	Title    string    `toml:"title"`    // as the requester reads it; required
	Start    time.Time `toml:"start"`    // a TOML date-time with offset, e.g. 2026-04-14T13:00:00+02:00
	End      time.Time `toml:"end"`      // after Start
	Location string    `toml:"location"` // required
	Capacity int       `toml:"capacity"` // seats, at least 1
}

// Timers is the [timers] section: reminders and nudges. 0 switches one off.
type Timers struct {
	ReminderDaysBefore  int      `toml:"reminder_days_before"`  // remind the requester before an appointment; default 2
	NudgeWorkingDays    int      `toml:"nudge_working_days"`    // nudge the leader after this many working days; default 3
	WaitingReminderDays int      `toml:"waiting_reminder_days"` // remind a requester we wait on; default 7
	WaitingCloseDays    int      `toml:"waiting_close_days"`    // then close after this many more days; default 7
	Interval            Duration `toml:"interval"`              // how often timers are checked; default 1m
}

// Backup is the [backup] section: scheduled copies of the store.
type Backup struct {
	// Dir is the folder for scheduled backups; empty disables them
	// (`loket backup` still works by hand).
	Dir      string   `toml:"dir"`
	Interval Duration `toml:"interval"` // default 24h
	Keep     int      `toml:"keep"`     // copies kept; default 7
}

// Alerts is the [alerts] section: mail to the operator when a mailbox
// stops being read (or its OAuth2 token cannot be refreshed), and when it
// recovers.
type Alerts struct {
	Address     string   `toml:"address"`       // the operator's address; empty: no alert mail
	NoPollAfter Duration `toml:"no_poll_after"` // a mailbox without a complete pass this long; default 30m
	MinInterval Duration `toml:"min_interval"`  // at most one mail per problem this often; default 1h
}

// Retention is the [retention] section: personal data kept no longer than
// needed (AVG).
type Retention struct {
	// MonthsAfterClose: the mail (bodies, raw messages, attachments) of a
	// ticket closed this many months ago is purged daily; the ticket
	// itself stays for the overview. 0 keeps everything.
	MonthsAfterClose int `toml:"months_after_close"`
}

// Storage is the [storage] section.
type Storage struct {
	Path string `toml:"path"` // the bbolt database file; required
}

// Tickets is the [tickets] section.
type Tickets struct {
	// Prefix starts every ticket reference, as in PO-2026-0042: 1 to 10
	// upper-case letters; required.
	Prefix string `toml:"prefix"`
}

// Web is the [web] section: the project leaders' desk and the API.
type Web struct {
	Listen  string `toml:"listen"`   // host:port to listen on; required
	BaseURL string `toml:"base_url"` // public http(s) URL of the desk; optional
}

// API is the [api] section.
type API struct {
	TokenFile string `toml:"token_file"` // file holding the bearer token for /api/v1
	TokenEnv  string `toml:"token_env"`  // or the environment variable holding it
	Token     Secret `toml:"-"`          // the token, at least 16 characters
}

// SMTP is the [smtp] section: where replies and confirmations are sent.
type SMTP struct {
	Host         string   `toml:"host"`          // required
	Port         int      `toml:"port"`          // required
	TLS          TLSMode  `toml:"tls"`           // default "starttls"
	Username     string   `toml:"username"`      // empty: no AUTH (a local relay)
	PasswordFile string   `toml:"password_file"` // with Username: this or PasswordEnv
	PasswordEnv  string   `toml:"password_env"`
	Password     Secret   `toml:"-"`
	Timeout      Duration `toml:"timeout"`      // per connection; default 30s
	MaxAttempts  int      `toml:"max_attempts"` // the outbox gives up after this many; default 12
	// RetryBase is the wait before the second attempt at a mail, doubled
	// per attempt up to an hour; default 30s.
	RetryBase Duration `toml:"retry_base"`
	// MaxConnections is how many connections the outbox is sent over in
	// parallel; each stays open for 30s after its last mail. Default 4.
	MaxConnections int `toml:"max_connections"`
	// TLSInsecureSkipVerify accepts any certificate of the SMTP server (a
	// self-signed one) instead of verifying it; Loket logs a warning at
	// start. Default false.
	TLSInsecureSkipVerify bool `toml:"tls_insecure_skip_verify"`
	// Auth is "password" (the default) or "oauth2": AUTH XOAUTH2 as
	// Username with a token got as OAuth2 says (config/oauth.go).
	Auth   string `toml:"auth"`
	OAuth2 OAuth2 `toml:"oauth2"`
}

// Confirmations is the [confirmations] section: the automatic
// acknowledgements of receipt.
type Confirmations struct {
	Enabled bool `toml:"enabled"` // default true
	// PerSenderPerDay is the most automatic mails one recipient gets in 24
	// hours; 0 sends none. Default 5.
	PerSenderPerDay int `toml:"per_sender_per_day"`
	// PerSenderPerHour is the most automatic mails one recipient gets in an
	// hour; 0 sends none. Default 3. A mail loop with another automatic
	// responder stops at this, and at PerSenderPerDay over a day.
	PerSenderPerHour int `toml:"per_sender_per_hour"`
	// BounceQuiet is how long an address whose mail bounced gets no
	// automatic mail; "0s" switches this off. Default 168h (a week).
	BounceQuiet Duration `toml:"bounce_quiet"`
	// TemplatesDir is a folder whose templates override the embedded ones;
	// empty uses only the embedded templates.
	TemplatesDir string `toml:"templates_dir"`
}

// Intake is the [intake] section: how the mailboxes are read.
type Intake struct {
	// MaxMessageSize: larger messages are stored as a stub (header only)
	// with a note. Default 50MB.
	MaxMessageSize Size     `toml:"max_message_size"`
	PollInterval   Duration `toml:"poll_interval"` // default 60s
	BatchSize      int      `toml:"batch_size"`    // messages fetched per pass; default 2000
	// IdleRecheck, above 0, asks the server for new mail (NOOP) this often
	// instead of idling, for a server that tells an idling client of new
	// mail late (Dovecot: 0.5s) but looks at the mailbox at every command.
	// Default 0: pure IDLE.
	IdleRecheck Duration `toml:"idle_recheck"`
}

// Runtime is the [runtime] section: the Go runtime of loket serve.
type Runtime struct {
	// MemoryLimit is a soft limit on the memory of loket serve (Go's
	// GOMEMLIMIT): near it the garbage collector runs more often instead
	// of letting the heap grow to twice what is live. 0, the default, sets
	// none (a GOMEMLIMIT in the environment still applies); else at least
	// MinMemoryLimit. Set it well above what the desk needs when busy:
	// close to the live heap, the collector runs all the time.
	MemoryLimit Size `toml:"memory_limit"`
	// GCPercent is Go's GOGC: the heap grows by this percentage of what is
	// live before the garbage collector runs again. 0, the default, means
	// DefaultGCPercent, unless GOGC is set in the environment. A backlog
	// import allocates about 12 times each message's size in short-lived
	// memory; at Go's own 100 the collector takes a sixth of the CPU.
	GCPercent int `toml:"gc_percent"`
}

// MinMemoryLimit is the smallest runtime.memory_limit other than 0.
const MinMemoryLimit = 64 << 20

// DefaultGCPercent is runtime.gc_percent when unset: with the desk's live
// heap of a few tens of MB, collections four times rarer than Go's default
// for some tens of MB more (docs/PERFORMANCE.md).
const DefaultGCPercent = 400

// GCPercent bounds: below 50 the collector runs nearly all the time, above
// 10 000 it hardly runs unless memory_limit is set.
const (
	MinGCPercent = 50
	MaxGCPercent = 10000
)

// Classification is the [classification] section.
type Classification struct {
	// Threshold is the minimum confidence (above 0, at most 1) for a
	// request type; below it a new request gets type "overig". Default 0.35.
	Threshold float64 `toml:"threshold"`
	// Terms are the operator's additions to the built-in terms, per request
	// type (a name from RequestTypes). A phrase that is also a built-in term
	// gets the new weight; weight 0 switches it off.
	Terms map[string][]Term `toml:"terms"`
}

// Term is a phrase that counts towards a request type.
type Term struct {
	Phrase string  `toml:"phrase"`
	Weight float64 `toml:"weight"`
}

// Log is the [log] section.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn or error; default info
	Format string `toml:"format"` // text or json; default text
}

// SlogLevel returns Level as a slog.Level; an unknown level gives Info.
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Mailbox is one [[mailbox]] table: an IMAP mailbox Loket reads.
type Mailbox struct {
	Name         string  `toml:"name"`    // short name, ^[a-z0-9-]+$, unique; required
	Address      string  `toml:"address"` // its e-mail address, unique; required
	Host         string  `toml:"host"`    // IMAP host; required
	Port         int     `toml:"port"`    // required
	TLS          TLSMode `toml:"tls"`     // default "tls"
	Username     string  `toml:"username"`
	PasswordFile string  `toml:"password_file"` // this or PasswordEnv
	PasswordEnv  string  `toml:"password_env"`
	Password     Secret  `toml:"-"`
	// Auth is "password" (the default) or "oauth2": AUTHENTICATE XOAUTH2
	// as Username with a token got as OAuth2 says (config/oauth.go).
	Auth   string `toml:"auth"`
	OAuth2 OAuth2 `toml:"oauth2"`
	Folder string `toml:"folder"` // default "INBOX"
	// ProcessedFolder is where handled messages are moved; empty leaves
	// them in Folder.
	ProcessedFolder string `toml:"processed_folder"`
	// InitialSync is what the first start (no stored cursor) does with the
	// mail already in Folder: "import-silent" (the default) stores it as
	// tickets without mailing anyone, "new-only" skips it, "import" takes
	// it as new mail and confirms it (intake/backlog.go).
	InitialSync string `toml:"initial_sync"`
	// TypePrior is the request type this mailbox usually receives, a name
	// from RequestTypes; empty for none.
	TypePrior   string `toml:"type_prior"`
	DisplayName string `toml:"display_name"` // From name on mail sent from this mailbox
	// TLSInsecureSkipVerify accepts any certificate of the IMAP server (a
	// self-signed one) instead of verifying it; Loket logs a warning at
	// start. Default false.
	TLSInsecureSkipVerify bool `toml:"tls_insecure_skip_verify"`
}

// Default returns a configuration holding every default value and nothing
// else: no mailboxes, no required values, no secrets.
func Default() *Config {
	return &Config{
		SMTP: SMTP{
			TLS:            TLSStartTLS,
			Auth:           AuthPassword,
			Timeout:        Duration{30 * time.Second},
			MaxAttempts:    12,
			RetryBase:      Duration{30 * time.Second},
			MaxConnections: 4,
		},
		Confirmations: Confirmations{
			Enabled:          true,
			PerSenderPerDay:  5,
			PerSenderPerHour: 3,
			BounceQuiet:      Duration{168 * time.Hour},
		},
		Backup: Backup{
			Interval: Duration{24 * time.Hour},
			Keep:     7,
		},
		Alerts: Alerts{
			NoPollAfter: Duration{30 * time.Minute},
			MinInterval: Duration{time.Hour},
		},
		Timers: Timers{
			ReminderDaysBefore:  2,
			NudgeWorkingDays:    3,
			WaitingReminderDays: 7,
			WaitingCloseDays:    7,
			Interval:            Duration{time.Minute},
		},
		Intake: Intake{
			MaxMessageSize: 50 * 1000 * 1000,
			PollInterval:   Duration{60 * time.Second},
			BatchSize:      2000,
		},
		Classification: Classification{
			Threshold: 0.35,
		},
		Log: Log{
			Level:  "info",
			Format: "text",
		},
	}
}

// defaultMailbox holds the defaults of a [[mailbox]] table.
func defaultMailbox() Mailbox {
	return Mailbox{TLS: TLSImplicit, Folder: "INBOX", Auth: AuthPassword, InitialSync: "import-silent"}
}

// Mailbox returns the mailbox with the given name.
func (c *Config) Mailbox(name string) (*Mailbox, bool) {
	for i := range c.Mailboxes {
		if c.Mailboxes[i].Name == name {
			return &c.Mailboxes[i], true
		}
	}
	return nil, false
}

// LogValue summarises the configuration for a log line at start-up. It
// leaves out the secrets (they would print as REDACTED anyway).
func (c *Config) LogValue() slog.Value {
	mailboxes := make([]string, len(c.Mailboxes))
	for i, m := range c.Mailboxes {
		mailboxes[i] = m.Name + "=" + m.Address
	}
	return slog.GroupValue(
		slog.String("storage", c.Storage.Path),
		slog.String("prefix", c.Tickets.Prefix),
		slog.String("listen", c.Web.Listen),
		slog.String("base_url", c.Web.BaseURL),
		slog.String("smtp", net.JoinHostPort(c.SMTP.Host, strconv.Itoa(c.SMTP.Port))),
		slog.String("smtp_tls", string(c.SMTP.TLS)),
		slog.Bool("confirmations", c.Confirmations.Enabled),
		slog.Any("mailboxes", mailboxes),
		slog.String("log_level", c.Log.Level),
	)
}
