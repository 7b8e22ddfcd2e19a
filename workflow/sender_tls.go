package workflow

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// ErrPlaintextRemote is returned when the sender is configured with TLS
// "none" for a host that is not a loopback address: the password and the
// mail never travel in clear text over a network. config refuses such a
// file already; this holds for every other way a SMTPConfig is made.
var ErrPlaintextRemote = errors.New(`SMTP TLS "none" is only allowed to a loopback host`)

// checkPlaintext returns ErrPlaintextRemote for TLS "none" to a host that
// is not a loopback address.
func (c SMTPConfig) checkPlaintext() error {
	if c.TLS != "none" || isLoopbackHost(c.Host) {
		return nil
	}
	return fmt.Errorf("%w, not %q", ErrPlaintextRemote, c.Host)
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
