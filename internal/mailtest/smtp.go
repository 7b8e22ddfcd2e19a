package mailtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Captured is one message an SMTPServer accepted.
type Captured struct {
	From     string    // MAIL FROM
	To       []string  // RCPT TO, in order
	Data     []byte    // the message as sent after DATA
	At       time.Time // when DATA completed
	Username string    // the AUTH user name (PLAIN or XOAUTH2), "" without AUTH
	Mech     string    // the AUTH mechanism, "PLAIN" or "XOAUTH2"; "" without AUTH
}

// SMTPServer is a go-smtp server on 127.0.0.1 that keeps every message it
// accepts in memory.
type SMTPServer struct {
	ln       net.Listener
	srv      *smtp.Server
	serveErr chan error

	mu      sync.Mutex
	msgs    []Captured
	failing error
	token   string        // the bearer token AUTH XOAUTH2 accepts; "" refuses all
	delay   time.Duration // before the answer to DATA, after the capture
	changed chan struct{} // closed and replaced whenever msgs grows

	closeOnce sync.Once
	closeErr  error
}

// StartSMTP starts a capturing SMTP server on 127.0.0.1 with a free port.
// It accepts any sender and recipient, and AUTH PLAIN with any password
// without TLS. It offers no STARTTLS; see StartSMTPTLS.
func StartSMTP() (*SMTPServer, error) {
	return startSMTP(nil)
}

// StartSMTPTLS is StartSMTP with STARTTLS offered, using a fresh
// self-signed certificate for localhost and 127.0.0.1. The returned pool
// trusts it. Plain-text sessions still work.
func StartSMTPTLS() (*SMTPServer, *x509.CertPool, error) {
	cert, pool, err := selfSigned()
	if err != nil {
		return nil, nil, err
	}
	s, err := startSMTP(&tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		return nil, nil, err
	}
	return s, pool, nil
}

func startSMTP(tlsConfig *tls.Config) (*SMTPServer, error) {
	s := &SMTPServer{
		serveErr: make(chan error, 1),
		changed:  make(chan struct{}),
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{server: s}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.TLSConfig = tlsConfig
	srv.MaxMessageBytes = 64 << 20
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = log.New(io.Discard, "", 0)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.ln, s.srv = ln, srv
	go func() { s.serveErr <- srv.Serve(ln) }()
	return s, nil
}

// Addr returns the server's address, "127.0.0.1:port".
func (s *SMTPServer) Addr() string { return s.ln.Addr().String() }

// Port returns the server's port.
func (s *SMTPServer) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Host returns "127.0.0.1".
func (s *SMTPServer) Host() string { return "127.0.0.1" }

// Messages returns a copy of everything captured so far, oldest first.
func (s *SMTPServer) Messages() []Captured {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Captured, len(s.msgs))
	for i, m := range s.msgs {
		m.To = append([]string(nil), m.To...)
		m.Data = append([]byte(nil), m.Data...)
		out[i] = m
	}
	return out
}

// Reset forgets every captured message.
func (s *SMTPServer) Reset() {
	s.mu.Lock()
	s.msgs = nil
	s.mu.Unlock()
}

// Wait blocks until at least n messages have been captured and returns them
// all, or returns ctx's error with what there is so far.
func (s *SMTPServer) Wait(ctx context.Context, n int) ([]Captured, error) {
	for {
		s.mu.Lock()
		have, changed := len(s.msgs), s.changed
		s.mu.Unlock()
		if have >= n {
			return s.Messages(), nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return s.Messages(), fmt.Errorf("waiting for %d messages, have %d: %w", n, have, ctx.Err())
		}
	}
}

// SetFailing makes MAIL FROM and DATA fail while err is non-nil, to simulate
// an outage. A *smtp.SMTPError is returned to the client as it is (so a 5xx
// can be simulated too); any other error becomes "451 4.3.0" with its text.
// SetFailing(nil) ends the outage.
func (s *SMTPServer) SetFailing(err error) {
	s.mu.Lock()
	s.failing = err
	s.mu.Unlock()
}

// SetAcceptDelay makes the server wait d after it has captured a message
// before it answers DATA with 250. A client that dies meanwhile has had its
// mail accepted without learning so: the window in which a sender that
// records "sent" only after the 250 sends the same mail again.
func (s *SMTPServer) SetAcceptDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

func (s *SMTPServer) failure() error {
	s.mu.Lock()
	err := s.failing
	s.mu.Unlock()
	if err == nil {
		return nil
	}
	var smtpErr *smtp.SMTPError
	if errors.As(err, &smtpErr) {
		return smtpErr
	}
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: err.Error()}
}

func (s *SMTPServer) capture(m Captured) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// Close stops the server and closes every connection.
func (s *SMTPServer) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.srv.Close()
		// Serve may not have registered the listener yet (Close right after
		// Start): close it here too, or Serve would accept forever.
		if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			s.closeErr = errors.Join(s.closeErr, err)
		}
		if err := <-s.serveErr; err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, smtp.ErrServerClosed) {
			s.closeErr = errors.Join(s.closeErr, err)
		}
		if errors.Is(s.closeErr, net.ErrClosed) {
			s.closeErr = nil
		}
	})
	return s.closeErr
}

// smtpSession is one SMTP connection's state.
type smtpSession struct {
	server   *SMTPServer
	username string
	mech     string
	from     string
	to       []string
}

var _ smtp.AuthSession = (*smtpSession)(nil)

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain, XOAUTH2} }

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			ss.username, ss.mech = username, sasl.Plain
			return nil
		}), nil
	case XOAUTH2:
		return newXOAUTH2Server(func(user, token string) error {
			if !ss.server.goodToken(token) {
				return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication unsuccessful"}
			}
			ss.username, ss.mech = user, XOAUTH2
			return nil
		}), nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if err := ss.server.failure(); err != nil {
		return err
	}
	ss.from = from
	ss.to = nil
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ss.server.failure(); err != nil {
		return err
	}
	ss.server.capture(Captured{
		From:     ss.from,
		To:       append([]string(nil), ss.to...),
		Data:     data,
		At:       time.Now(),
		Username: ss.username,
		Mech:     ss.mech,
	})
	ss.server.mu.Lock()
	delay := ss.server.delay
	ss.server.mu.Unlock()
	time.Sleep(delay)
	return nil
}

func (ss *smtpSession) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *smtpSession) Logout() error { return nil }
