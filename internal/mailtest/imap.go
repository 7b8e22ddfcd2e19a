package mailtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// IMAPOptions configures StartIMAPWith.
type IMAPOptions struct {
	Users   map[string]string // user name -> password
	Folders []string          // created for every user, besides INBOX

	// TLS is "" (plain text, the default), "starttls" (STARTTLS offered) or
	// "tls" (implicit TLS). The certificate is self-signed; trust
	// IMAPServer.CertPool.
	TLS string

	// NoMove advertises IMAP4rev1 only, without MOVE, so that clients have to
	// fall back to COPY. (IDLE is still offered: go-imap's server always
	// offers it to IMAP4rev1 clients.)
	NoMove bool

	// Log receives the server's error messages; nil discards them.
	Log io.Writer

	// XOAUTH2 maps a user name to the one bearer token AUTHENTICATE
	// XOAUTH2 accepts for it. Set, the server offers AUTH=XOAUTH2 besides
	// PLAIN (and LOGIN still works); see IMAPServer.XOAUTH2Logins.
	XOAUTH2 map[string]string
}

// IMAPServer is go-imap's in-memory IMAP server listening on 127.0.0.1.
type IMAPServer struct {
	ln    net.Listener
	srv   *imapserver.Server
	mode  string
	pool  *x509.CertPool
	users map[string]*imapmemserver.User
	pass  map[string]string

	xoauth2Accepted, xoauth2Refused atomic.Int64

	serveErr  chan error
	closeOnce sync.Once
	closeErr  error
}

// StartIMAP starts an in-memory IMAP server on 127.0.0.1 with a free port.
// Every user gets INBOX and the given folders. It offers IMAP4rev1 and
// IMAP4rev2 (so IDLE and MOVE) and allows LOGIN without TLS.
func StartIMAP(users map[string]string, folders ...string) (*IMAPServer, error) {
	return StartIMAPWith(IMAPOptions{Users: users, Folders: folders})
}

// StartIMAPWith starts an in-memory IMAP server configured by opts.
func StartIMAPWith(opts IMAPOptions) (*IMAPServer, error) {
	s := &IMAPServer{
		mode:     opts.TLS,
		users:    make(map[string]*imapmemserver.User),
		pass:     make(map[string]string),
		serveErr: make(chan error, 1),
	}
	mem := imapmemserver.New()
	for name, password := range opts.Users {
		u := imapmemserver.NewUser(name, password)
		for _, folder := range append([]string{"INBOX"}, opts.Folders...) {
			if err := u.Create(folder, nil); err != nil {
				return nil, fmt.Errorf("create %s for %s: %w", folder, name, err)
			}
		}
		mem.AddUser(u)
		s.users[name] = u
		s.pass[name] = password
	}

	caps := imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}
	if opts.NoMove {
		caps = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}, imap.CapNamespace: {}}
	}
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	srvOpts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			if opts.XOAUTH2 != nil {
				return &xoauth2IMAPSession{s: s, tokens: opts.XOAUTH2}, nil, nil
			}
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
		Logger:       log.New(logw, "mailtest imap: ", log.LstdFlags),
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	switch opts.TLS {
	case "":
	case "starttls", "tls":
		cert, pool, err := selfSigned()
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.pool = pool
		tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}}
		if opts.TLS == "tls" {
			ln = tls.NewListener(ln, tlsConfig)
		} else {
			srvOpts.TLSConfig = tlsConfig
		}
	default:
		ln.Close()
		return nil, fmt.Errorf("unknown TLS mode %q", opts.TLS)
	}

	s.ln = ln
	s.srv = imapserver.New(srvOpts)
	go func() { s.serveErr <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr returns the server's address, "127.0.0.1:port".
func (s *IMAPServer) Addr() string { return s.ln.Addr().String() }

// Port returns the server's port.
func (s *IMAPServer) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Host returns "127.0.0.1".
func (s *IMAPServer) Host() string { return "127.0.0.1" }

// CertPool returns a pool trusting the server's certificate, or nil when the
// server runs without TLS.
func (s *IMAPServer) CertPool() *x509.CertPool { return s.pool }

// Append adds raw to a user's folder, with the given flags (e.g. `\Seen`),
// as if it had been delivered. It goes through the server's own mailbox, so
// every connection that has the folder selected, IDLE included, is told.
func (s *IMAPServer) Append(user, folder string, raw []byte, flags ...string) error {
	u := s.users[user]
	if u == nil {
		return fmt.Errorf("mailtest: no user %q", user)
	}
	opts := &imap.AppendOptions{}
	for _, f := range flags {
		opts.Flags = append(opts.Flags, imap.Flag(f))
	}
	if _, err := u.Append(folder, bytes.NewReader(raw), opts); err != nil {
		return fmt.Errorf("append to %s of %s: %w", folder, user, err)
	}
	return nil
}

// CreateFolder creates a folder for user.
func (s *IMAPServer) CreateFolder(user, folder string) error {
	u := s.users[user]
	if u == nil {
		return fmt.Errorf("mailtest: no user %q", user)
	}
	return u.Create(folder, nil)
}

// Messages lists a user's folder through an ordinary IMAP connection,
// read-only, in UID order. A folder that does not exist is an error.
func (s *IMAPServer) Messages(user, folder string) ([]Stored, error) {
	password, ok := s.pass[user]
	if !ok {
		return nil, fmt.Errorf("mailtest: no user %q", user)
	}
	var out []Stored
	err := withClient(s.Addr(), s.mode, s.pool, user, password, func(c *imapclient.Client) error {
		var err error
		out, err = messages(c, folder)
		return err
	})
	return out, err
}

// Close stops the server and closes every connection.
func (s *IMAPServer) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.srv.Close()
		if err := <-s.serveErr; err != nil && !errors.Is(err, net.ErrClosed) {
			s.closeErr = errors.Join(s.closeErr, err)
		}
		if s.closeErr != nil && errors.Is(s.closeErr, net.ErrClosed) {
			s.closeErr = nil
		}
	})
	return s.closeErr
}
