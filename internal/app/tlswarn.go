package app

import "log/slog"

// warnInsecureTLS logs a warning at start for every mail server whose
// certificate is not verified (tls_insecure_skip_verify = true): anyone
// between Loket and that server can read the password and the mail.
func warnInsecureTLS(o Options, log *slog.Logger) {
	for _, m := range o.Mailboxes {
		if m.TLSConfig != nil && m.TLSConfig.InsecureSkipVerify {
			log.Warn("TLS certificate of the IMAP server is not verified (tls_insecure_skip_verify = true)", "mailbox", m.Name, "host", m.Host)
		}
	}
	if o.SMTP.TLSConfig != nil && o.SMTP.TLSConfig.InsecureSkipVerify {
		log.Warn("TLS certificate of the SMTP server is not verified (tls_insecure_skip_verify = true)", "host", o.SMTP.Host)
	}
}
