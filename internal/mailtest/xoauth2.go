package mailtest

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
)

// XOAUTH2 is the SASL mechanism Gmail and Microsoft 365 take OAuth2 bearer
// tokens with: https://developers.google.com/gmail/imap/xoauth2-protocol.
const XOAUTH2 = "XOAUTH2"

// errBadToken is what a server sends as the XOAUTH2 challenge when it
// refuses a token; the client answers with an empty response.
var errBadToken = []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`)

// xoauth2Server is the server side of XOAUTH2. check returns nil when the
// token is good for user.
type xoauth2Server struct {
	check  func(user, token string) error
	failed error // set after a refused token: the next response ends it
}

func newXOAUTH2Server(check func(user, token string) error) sasl.Server {
	return &xoauth2Server{check: check}
}

func (s *xoauth2Server) Next(response []byte) (challenge []byte, done bool, err error) {
	if s.failed != nil {
		return nil, true, s.failed
	}
	if response == nil {
		return []byte{}, false, nil // ask for the initial response
	}
	user, token, ok := parseXOAUTH2(response)
	if !ok {
		return nil, true, errors.New("malformed XOAUTH2 response")
	}
	if err := s.check(user, token); err != nil {
		s.failed = err
		return errBadToken, false, nil
	}
	return nil, true, nil
}

// parseXOAUTH2 reads "user=U\x01auth=Bearer T\x01\x01".
func parseXOAUTH2(b []byte) (user, token string, ok bool) {
	rest, found := bytes.CutSuffix(b, []byte("\x01\x01"))
	if !found {
		return "", "", false
	}
	for field := range strings.SplitSeq(string(rest), "\x01") {
		k, v, _ := strings.Cut(field, "=")
		switch k {
		case "user":
			user = v
		case "auth":
			token, found = strings.CutPrefix(v, "Bearer ")
			if !found {
				return "", "", false
			}
		}
	}
	return user, token, user != "" && token != ""
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// xoauth2IMAPSession is an IMAP session of the in-memory server that also
// signs in with AUTHENTICATE XOAUTH2.
type xoauth2IMAPSession struct {
	*imapmemserver.UserSession // nil until signed in
	s                          *IMAPServer
	tokens                     map[string]string
}

var _ imapserver.SessionSASL = (*xoauth2IMAPSession)(nil)

func (sess *xoauth2IMAPSession) Login(username, password string) error {
	u := sess.s.users[username]
	if u == nil {
		return imapserver.ErrAuthFailed
	}
	if err := u.Login(username, password); err != nil {
		return err
	}
	sess.UserSession = imapmemserver.NewUserSession(u)
	return nil
}

func (sess *xoauth2IMAPSession) AuthenticateMechanisms() []string {
	return []string{sasl.Plain, XOAUTH2}
}

func (sess *xoauth2IMAPSession) Authenticate(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return imapserver.ErrAuthFailed
			}
			return sess.Login(username, password)
		}), nil
	case XOAUTH2:
		return newXOAUTH2Server(func(user, token string) error {
			u := sess.s.users[user]
			if u == nil || !sameToken(sess.tokens[user], token) {
				sess.s.xoauth2Refused.Add(1)
				return imapserver.ErrAuthFailed
			}
			sess.UserSession = imapmemserver.NewUserSession(u)
			sess.s.xoauth2Accepted.Add(1)
			return nil
		}), nil
	}
	return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "SASL mechanism not supported"}
}

// XOAUTH2Logins returns how many AUTHENTICATE XOAUTH2 the server accepted
// and how many it refused.
func (s *IMAPServer) XOAUTH2Logins() (accepted, refused int64) {
	return s.xoauth2Accepted.Load(), s.xoauth2Refused.Load()
}

// SetXOAUTH2Token makes AUTH XOAUTH2 accept token (for any user) and
// refuse every other with 535; "" refuses all. PLAIN is not affected.
func (s *SMTPServer) SetXOAUTH2Token(token string) {
	s.mu.Lock()
	s.token = token
	s.mu.Unlock()
}

func (s *SMTPServer) goodToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sameToken(s.token, token)
}
