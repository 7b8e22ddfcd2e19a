package config

import (
	"maps"
	"math"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	prefixRE      = regexp.MustCompile(`^[A-Z]{1,10}$`)
	mailboxNameRE = regexp.MustCompile(`^[a-z0-9-]+$`)
)

// fillEmpty gives settings that have a default their default when the file
// sets them to the empty string.
func (c *Config) fillEmpty() {
	def := Default()
	if c.SMTP.TLS == "" {
		c.SMTP.TLS = def.SMTP.TLS
	}
	fillOAuth2(&c.SMTP.Auth, &c.SMTP.OAuth2)
	if c.Log.Level == "" {
		c.Log.Level = def.Log.Level
	}
	if c.Log.Format == "" {
		c.Log.Format = def.Log.Format
	}
	for i := range c.Mailboxes {
		m, dm := &c.Mailboxes[i], defaultMailbox()
		if m.TLS == "" {
			m.TLS = dm.TLS
		}
		if m.Folder == "" {
			m.Folder = dm.Folder
		}
		if m.InitialSync == "" {
			m.InitialSync = dm.InitialSync
		}
		fillOAuth2(&m.Auth, &m.OAuth2)
	}
}

// validate reports every value that is missing, out of range or malformed.
// Secrets are checked by readSecrets.
func (c *Config) validate(r *report) {
	v := validator{r}

	v.required(dotted("storage.path"), c.Storage.Path)

	if v.required(dotted("tickets.prefix"), c.Tickets.Prefix) && !prefixRE.MatchString(c.Tickets.Prefix) {
		r.add(dotted("tickets.prefix"), "must be 1 to 10 upper-case letters (A-Z), not %q", c.Tickets.Prefix)
	}

	if v.required(dotted("web.listen"), c.Web.Listen) {
		v.listen(dotted("web.listen"), c.Web.Listen)
	}
	if c.Web.BaseURL != "" {
		v.baseURL(dotted("web.base_url"), c.Web.BaseURL)
	}

	if c.Backup.Dir != "" {
		v.positive(dotted("backup.interval"), int64(c.Backup.Interval.Duration))
		if c.Backup.Keep < 1 {
			r.add(dotted("backup.keep"), "must be at least 1")
		}
	}

	if c.Alerts.Address != "" {
		if _, err := mail.ParseAddress(c.Alerts.Address); err != nil {
			r.add(dotted("alerts.address"), "not an e-mail address: %q", c.Alerts.Address)
		}
	}
	v.positive(dotted("alerts.no_poll_after"), int64(c.Alerts.NoPollAfter.Duration))
	v.positive(dotted("alerts.min_interval"), int64(c.Alerts.MinInterval.Duration))
	if c.Retention.MonthsAfterClose < 0 {
		r.add(dotted("retention.months_after_close"), "must not be negative (0 keeps everything)")
	}

	smtp := keyPath{"smtp"}
	v.server(smtp, c.SMTP.Host, c.SMTP.Port, c.SMTP.TLS)
	v.positive(smtp.key("timeout"), int64(c.SMTP.Timeout.Duration))
	v.positive(smtp.key("retry_base"), int64(c.SMTP.RetryBase.Duration))
	if c.SMTP.MaxAttempts < 1 {
		r.add(smtp.key("max_attempts"), "must be at least 1")
	}
	if c.SMTP.MaxConnections < 1 {
		r.add(smtp.key("max_connections"), "must be at least 1")
	}
	v.validateAuth(smtp, c.SMTP.Auth, c.SMTP.OAuth2)
	if c.SMTP.Auth == AuthOAuth2 && c.SMTP.Username == "" {
		r.add(smtp.key("username"), "is required with auth = %q: the account Loket sends as", AuthOAuth2)
	}

	if c.Confirmations.PerSenderPerDay < 0 {
		r.add(dotted("confirmations.per_sender_per_day"), "must not be negative")
	}
	if c.Confirmations.PerSenderPerHour < 0 {
		r.add(dotted("confirmations.per_sender_per_hour"), "must not be negative")
	}
	if c.Confirmations.BounceQuiet.Duration < 0 {
		r.add(dotted("confirmations.bounce_quiet"), "must not be negative")
	}

	v.positive(dotted("intake.max_message_size"), int64(c.Intake.MaxMessageSize))
	v.positive(dotted("intake.poll_interval"), int64(c.Intake.PollInterval.Duration))
	if c.Intake.BatchSize < 1 {
		r.add(dotted("intake.batch_size"), "must be at least 1")
	}
	if c.Intake.IdleRecheck.Duration < 0 {
		r.add(dotted("intake.idle_recheck"), "must not be negative (0 switches it off)")
	}

	if m := c.Runtime.MemoryLimit; m != 0 && m < MinMemoryLimit {
		r.add(dotted("runtime.memory_limit"), "must be 0 (no limit) or at least %s, not %s", Size(MinMemoryLimit), m)
	}
	if g := c.Runtime.GCPercent; g != 0 && (g < MinGCPercent || g > MaxGCPercent) {
		r.add(dotted("runtime.gc_percent"), "must be 0 (the default, %d) or between %d and %d, not %d", DefaultGCPercent, MinGCPercent, MaxGCPercent, g)
	}

	cl := keyPath{"classification"}
	if t := c.Classification.Threshold; !(t > 0 && t <= 1) {
		r.add(cl.key("threshold"), "must be greater than 0 and at most 1, not %v", t)
	}
	for _, typ := range slices.Sorted(maps.Keys(c.Classification.Terms)) {
		terms := c.Classification.Terms[typ]
		p := cl.key("terms").key(typ)
		if !slices.Contains(RequestTypes, typ) {
			r.add(p, "unknown request type %q; use one of %s", typ, strings.Join(RequestTypes, ", "))
			continue
		}
		for i, t := range terms {
			if strings.TrimSpace(t.Phrase) == "" {
				r.add(p.index(i).key("phrase"), "is required")
			}
			switch w := p.index(i).key("weight"); {
			case !r.lines.has(w):
				r.add(w, "is required (0 switches a built-in term off)")
			case math.IsNaN(t.Weight) || math.IsInf(t.Weight, 0):
				r.add(w, "must be a finite number")
			}
		}
	}

	v.oneOf(dotted("log.level"), c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf(dotted("log.format"), c.Log.Format, "text", "json")

	c.validateDesk(r)

	if len(c.Mailboxes) == 0 {
		r.add(keyPath{"mailbox"}, "at least one [[mailbox]] is required")
	}
	names := make(map[string]int)
	addresses := make(map[string]int)
	for i, m := range c.Mailboxes {
		p := keyPath{"mailbox"}.index(i)
		if v.required(p.key("name"), m.Name) {
			if !mailboxNameRE.MatchString(m.Name) {
				r.add(p.key("name"), "must be lower-case letters, digits and '-' only, not %q", m.Name)
			} else if j, dup := names[m.Name]; dup {
				r.add(p.key("name"), "mailbox[%d] has the same name %q", j, m.Name)
			} else {
				names[m.Name] = i
			}
		}
		if v.required(p.key("address"), m.Address) {
			addr := strings.ToLower(m.Address)
			if !validAddress(m.Address) {
				r.add(p.key("address"), "must be a plain e-mail address such as name@example.org, not %q", m.Address)
			} else if j, dup := addresses[addr]; dup {
				r.add(p.key("address"), "mailbox[%d] has the same address %q", j, m.Address)
			} else {
				addresses[addr] = i
			}
		}
		v.server(p, m.Host, m.Port, m.TLS)
		v.required(p.key("username"), m.Username)
		v.validateAuth(p, m.Auth, m.OAuth2)
		v.oneOf(p.key("initial_sync"), m.InitialSync, "import-silent", "new-only", "import")
		if m.TypePrior != "" && !slices.Contains(RequestTypes, m.TypePrior) {
			r.add(p.key("type_prior"), "unknown request type %q; use one of %s, or \"\" for none", m.TypePrior, strings.Join(RequestTypes, ", "))
		}
	}
}

type validator struct{ r *report }

// required reports an empty value and returns whether the value is there.
func (v validator) required(p keyPath, value string) bool {
	if strings.TrimSpace(value) != "" {
		return true
	}
	if v.r.lines.has(p) {
		v.r.add(p, "must not be empty")
	} else {
		v.r.add(p, "is required")
	}
	return false
}

func (v validator) positive(p keyPath, n int64) {
	switch {
	case n < 0:
		v.r.add(p, "must not be negative")
	case n == 0:
		v.r.add(p, "must be greater than 0")
	}
}

func (v validator) oneOf(p keyPath, value string, allowed ...string) bool {
	if slices.Contains(allowed, value) {
		return true
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = strconv.Quote(a)
	}
	v.r.add(p, "must be one of %s, not %q", strings.Join(quoted, ", "), value)
	return false
}

// server checks host, port and tls of the [smtp] section or a [[mailbox]].
func (v validator) server(p keyPath, host string, port int, tls TLSMode) {
	hostOK := v.required(p.key("host"), host)
	if hostOK && strings.ContainsAny(host, " /:") && net.ParseIP(host) == nil {
		v.r.add(p.key("host"), "must be a host name or IP address, without port or scheme, not %q", host)
	}
	switch {
	case port == 0 && !v.r.lines.has(p.key("port")):
		v.r.add(p.key("port"), "is required")
	case port < 1 || port > 65535:
		v.r.add(p.key("port"), "must be between 1 and 65535, not %d", port)
	}
	if v.oneOf(p.key("tls"), string(tls), string(TLSImplicit), string(TLSStartTLS), string(TLSNone)) &&
		tls == TLSNone && hostOK && !isLoopback(host) {
		v.r.add(p.key("tls"), `"none" is only allowed to a loopback host (127.0.0.0/8, ::1, localhost), not %q`, host)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func (v validator) listen(p keyPath, listen string) {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		v.r.add(p, "must be host:port, such as \"127.0.0.1:8080\" or \":8080\", not %q", listen)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		v.r.add(p, "port must be a number between 1 and 65535, not %q", port)
	}
}

func (v validator) baseURL(p keyPath, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.r.add(p, "must be an http:// or https:// URL such as \"https://loket.example.org\", not %q", s)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		v.r.add(p, "must not have a query, fragment or user name, not %q", s)
	}
}

// validAddress reports whether s is a bare address such as
// name@example.org: no display name, no angle brackets.
func validAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}
