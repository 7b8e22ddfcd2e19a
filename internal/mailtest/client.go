package mailtest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Stored is a message as an IMAP client sees it in a folder.
type Stored struct {
	UID   uint32
	Flags []string // as the server reports them, e.g. `\Seen`
	Size  int64    // RFC822.SIZE
	Raw   []byte   // the whole message
}

// HasFlag reports whether the message carries flag (case-insensitive).
func (s Stored) HasFlag(flag string) bool {
	for _, f := range s.Flags {
		if strings.EqualFold(f, flag) {
			return true
		}
	}
	return false
}

// clientTimeout bounds every helper connection, so a hung server fails a
// test instead of stalling it.
const clientTimeout = 10 * time.Second

// login connects to addr the way a server of the given mode expects ("" or
// "none": plain, "starttls", "tls") and logs in.
func login(addr, mode string, pool *x509.CertPool, user, password string) (*imapclient.Client, error) {
	opts := &imapclient.Options{
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"},
		Dialer:    &net.Dialer{Timeout: clientTimeout},
	}
	var (
		c   *imapclient.Client
		err error
	)
	switch mode {
	case "", "none":
		c, err = imapclient.DialInsecure(addr, opts)
	case "starttls":
		c, err = imapclient.DialStartTLS(addr, opts)
	case "tls":
		c, err = imapclient.DialTLS(addr, opts)
	default:
		return nil, fmt.Errorf("unknown TLS mode %q", mode)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("log in as %s: %w", user, err)
	}
	return c, nil
}

// appendTo appends raw to folder, creating the folder when the server says
// it does not exist.
func appendTo(c *imapclient.Client, folder string, raw []byte, flags []string) error {
	opts := &imap.AppendOptions{}
	for _, f := range flags {
		opts.Flags = append(opts.Flags, imap.Flag(f))
	}
	try := func() error {
		cmd := c.Append(folder, int64(len(raw)), opts)
		if _, err := cmd.Write(raw); err != nil {
			cmd.Close()
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		_, err := cmd.Wait()
		return err
	}
	err := try()
	var imapErr *imap.Error
	if errors.As(err, &imapErr) && imapErr.Code == imap.ResponseCodeTryCreate {
		if err := c.Create(folder, nil).Wait(); err != nil {
			return fmt.Errorf("create %s: %w", folder, err)
		}
		err = try()
	}
	if err != nil {
		return fmt.Errorf("append to %s: %w", folder, err)
	}
	return nil
}

// messages lists folder read-only (EXAMINE, BODY.PEEK), so looking never
// changes a flag.
func messages(c *imapclient.Client, folder string) ([]Stored, error) {
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("examine %s: %w", folder, err)
	}
	if sel.NumMessages == 0 {
		return nil, nil
	}
	section := &imap.FetchItemBodySection{Peek: true}
	var all imap.SeqSet
	all.AddRange(1, sel.NumMessages)
	bufs, err := c.Fetch(all, &imap.FetchOptions{
		UID:         true,
		Flags:       true,
		RFC822Size:  true,
		BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", folder, err)
	}
	out := make([]Stored, 0, len(bufs))
	for _, b := range bufs {
		s := Stored{UID: uint32(b.UID), Size: b.RFC822Size, Raw: b.FindBodySection(section)}
		for _, f := range b.Flags {
			s.Flags = append(s.Flags, string(f))
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out, nil
}

// withClient logs in, runs f and logs out.
func withClient(addr, mode string, pool *x509.CertPool, user, password string, f func(*imapclient.Client) error) error {
	c, err := login(addr, mode, pool, user, password)
	if err != nil {
		return err
	}
	ferr := f(c)
	if err := c.Logout().Wait(); err != nil && ferr == nil {
		ferr = fmt.Errorf("log out: %w", err)
	}
	c.Close()
	return ferr
}
