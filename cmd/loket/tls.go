package main

import "crypto/tls"

// tlsConfig returns the TLS configuration for a mail server at host: nil
// (the system roots, certificates verified) unless skipVerify, the
// tls_insecure_skip_verify key, says to accept any certificate. app.Run
// logs a warning for every server so configured.
func tlsConfig(host string, skipVerify bool) *tls.Config {
	if !skipVerify {
		return nil
	}
	return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}
}
