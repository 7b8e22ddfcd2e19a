package workflow

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
)

// nonLoopbackIP returns an address of this machine that is not a loopback
// address, or "" when it has none.
func nonLoopbackIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// TestSenderRefusesPlaintextToRemoteHost: a sender with TLS "none" for a
// host that is not a loopback address never connects, so the SMTP password
// never travels in clear text; the mail stays in the outbox, untried. To a
// loopback host the same configuration sends.
func TestSenderRefusesPlaintextToRemoteHost(t *testing.T) {
	for _, c := range []struct {
		host string
		ok   bool
	}{{"localhost", true}, {"127.0.0.1", true}, {"::1", true}, {"[::1]", true}, {"127.1.2.3", true},
		{"smtp.example.org", false}, {"192.0.2.1", false}, {"10.0.0.1", false}} {
		err := SMTPConfig{Host: c.host, TLS: "none"}.checkPlaintext()
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrPlaintextRemote)) {
			t.Errorf("host %s: %v", c.host, err)
		}
	}

	ip := nonLoopbackIP()
	if ip == "" {
		t.Skip("no non-loopback address on this machine")
	}
	// A server on that address that counts connections.
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("listen on %s: %v", ip, err)
	}
	defer ln.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			_, _ = c.Write([]byte("220 lokaal ESMTP\r\n"))
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port

	f := newFixture(t)
	f.pol.Now = nil
	res := f.ingest("ondersteuning", msg("plain@swv.example", "p@swv.example", "aanmelding"), newClass(intake.TypeClinic))
	s := NewSender(f.store, SMTPConfig{Host: ip, Port: port, TLS: "none", Username: "loket", Password: "smtp-geheim-niet-over-het-net",
		Timeout: time.Second, RetryBase: time.Second}, quietLog())
	_, err = s.pass(context.Background())
	if !errors.Is(err, ErrPlaintextRemote) {
		t.Errorf("pass = %v, want ErrPlaintextRemote", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := conns.Load(); n != 0 {
		t.Errorf("%d connections to %s with TLS none", n, ip)
	}
	e, err := f.store.OutboxEntry(res.OutboxID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != OutboxQueued || e.Attempts != 0 {
		t.Errorf("outbox entry %s after %d attempts, want queued and untried", e.Status, e.Attempts)
	}
}
