package intake

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// deadlineConn lets the Poller bound every IMAP command although go-imap's
// calls take no context. go-imap sets its own read and write deadlines
// (30s per response, 5 minutes per literal, none while idle); deadlineConn
// passes them on, but never later than the limit the Poller sets around
// each command. A command whose limit passes fails with a timeout, and the
// client with it.
//
// It also buffers what it reads, readBuffer at a time: go-imap reads
// through a buffer of 4 KiB, a system call for every message or two of a
// backlog.
type deadlineConn struct {
	net.Conn
	r *bufio.Reader

	mu          sync.Mutex
	read, write time.Time // as last asked for by go-imap
	limit       time.Time // the Poller's; zero means none
}

// readBuffer is how much deadlineConn reads from the connection at most at
// once.
const readBuffer = 64 << 10

func newDeadlineConn(c net.Conn) *deadlineConn {
	return &deadlineConn{Conn: c, r: bufio.NewReaderSize(c, readBuffer)}
}

func (c *deadlineConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func earlier(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	default:
		return b
	}
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read, c.write = t, t
	return c.Conn.SetDeadline(earlier(t, c.limit))
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read = t
	return c.Conn.SetReadDeadline(earlier(t, c.limit))
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.write = t
	return c.Conn.SetWriteDeadline(earlier(t, c.limit))
}

// limitFor bounds all I/O from now on to d; d == 0 lifts the bound.
func (c *deadlineConn) limitFor(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limit = time.Time{}
	if d > 0 {
		c.limit = time.Now().Add(d)
	}
	c.Conn.SetReadDeadline(earlier(c.read, c.limit))
	c.Conn.SetWriteDeadline(earlier(c.write, c.limit))
}

// dial connects to the server and returns a client that has received the
// greeting (and, for "starttls", finished the TLS handshake). The dial and
// the TLS handshake honour ctx; the rest is bounded by DialTimeout and
// CommandTimeout, and by ctx through closeOn.
func (p *Poller) dial(ctx context.Context, opts *imapclient.Options) (*imapclient.Client, *deadlineConn, error) {
	cfg := p.cfg
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	d := net.Dialer{Timeout: cfg.DialTimeout}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	dc := newDeadlineConn(raw)
	dc.limitFor(cfg.DialTimeout + cfg.CommandTimeout)

	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = cfg.Host
	}
	opts.TLSConfig = tlsConfig

	// Closing the raw connection when ctx ends unblocks whatever go-imap is
	// waiting for during the greeting and STARTTLS.
	stop := closeOn(ctx, raw)
	defer stop()

	var c *imapclient.Client
	switch cfg.TLS {
	case "tls":
		if tlsConfig.NextProtos == nil {
			tlsConfig.NextProtos = []string{"imap"}
		}
		tc := tls.Client(dc, tlsConfig)
		hctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
		err = tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			raw.Close()
			return nil, nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		c = imapclient.New(tc, opts)
	case "starttls":
		c, err = imapclient.NewStartTLS(dc, opts)
		if err != nil {
			raw.Close()
			return nil, nil, fmt.Errorf("STARTTLS with %s: %w", addr, err)
		}
	default: // "none", to a loopback host: see MailboxConfig.check
		c = imapclient.New(dc, opts)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("greeting from %s: %w", addr, err)
	}
	dc.limitFor(0)
	return c, dc, nil
}

// closeOn closes conn when ctx is done. The returned stop function cancels
// that and, if the close has started, waits for it, so no goroutine outlives
// the caller.
func closeOn(ctx context.Context, conn net.Conn) (stop func()) {
	closed := make(chan struct{})
	cancel := context.AfterFunc(ctx, func() {
		conn.Close()
		close(closed)
	})
	return func() {
		if !cancel() {
			<-closed
		}
	}
}

// backoff returns how long to wait after the n-th failure in a row (n ≥ 1):
// min doubling per failure up to max, with ±20 % jitter, never above max.
func backoff(n int, min, max time.Duration) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	if d > max {
		d = max
	}
	return d
}

// sleep waits for d and reports true, or returns false as soon as ctx is
// done.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
