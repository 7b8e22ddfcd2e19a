// Package mailtest starts real mail servers on the loopback interface for
// Loket's tests and for `loket demo`.
//
//   - StartIMAP runs go-imap's imapserver with the in-memory imapmemserver
//     backend: instant, in-process, IDLE and MOVE included.
//   - StartSMTP runs a go-smtp server that captures every message it is given
//     and can be told to fail temporarily, to simulate an outage.
//   - StartDovecot runs a private instance of the real Dovecot IMAP server
//     (Debian package dovecot-imapd) with its own configuration, users and
//     maildir under a directory, for end-to-end tests that want a server
//     Loket did not write. It can be stopped and started again on the same
//     port with the same mail.
//
// Everything listens on 127.0.0.1 only, with made-up users and passwords.
// Nothing here is meant for production use.
package mailtest
