package workflow

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"
)

// User is a project leader who may use the desk.
type User struct {
	Name         string    `json:"name"`
	Address      string    `json:"address"` // lower case; the key
	PasswordHash []byte    `json:"password_hash"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
}

// LoginSession is a logged-in browser. It is stored under the SHA-256 of its ID,
// so the database never holds a usable session ID.
type LoginSession struct {
	Address string    `json:"address"`
	CSRF    string    `json:"csrf"` // per-session token every form carries
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
}

// Password rules: bcrypt reads at most 72 bytes.
const (
	MinPasswordLen = 10
	maxPasswordLen = 72
	bcryptCost     = bcrypt.DefaultCost
)

// ErrBadLogin is returned for an unknown address or a wrong password; the
// two are not told apart.
var ErrBadLogin = errors.New("unknown address or wrong password")

// InvalidUserError is returned for a name, address or password that cannot
// be used; its message is fit to show.
type InvalidUserError struct{ Reason string }

func (e *InvalidUserError) Error() string { return e.Reason }

// dummyHash is compared against for unknown addresses, so that a login
// for an unknown address takes as long as one with a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("loket-dummy-password"), bcryptCost)

// NormalizeAddress lower-cases and checks an e-mail address.
func NormalizeAddress(addr string) (string, error) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" {
		return "", &InvalidUserError{Reason: fmt.Sprintf("ongeldig e-mailadres %q", addr)}
	}
	return addr, nil
}

// CheckPasswordRules says why a password cannot be used, or returns nil.
func CheckPasswordRules(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return &InvalidUserError{Reason: fmt.Sprintf("wachtwoord te kort: minstens %d tekens", MinPasswordLen)}
	case len(pw) > maxPasswordLen:
		return &InvalidUserError{Reason: fmt.Sprintf("wachtwoord te lang: hoogstens %d bytes", maxPasswordLen)}
	case strings.TrimSpace(pw) != pw:
		return &InvalidUserError{Reason: "wachtwoord begint of eindigt met een spatie"}
	}
	return nil
}

// PutUser adds a user or, when the address exists, sets its name and
// password. It reports whether the user is new. Setting a password ends
// the user's sessions.
func (s *Store) PutUser(name, address, password string, now time.Time) (created bool, err error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return false, &InvalidUserError{Reason: "naam ontbreekt"}
	}
	addr, err := NormalizeAddress(address)
	if err != nil {
		return false, err
	}
	if err := CheckPasswordRules(password); err != nil {
		return false, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return false, fmt.Errorf("hash password: %w", err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		u := User{Name: name, Address: addr, PasswordHash: hash, Created: now, Updated: now}
		var old User
		switch err := getJSON(b, []byte(addr), &old); {
		case err == nil:
			u.Created = old.Created
			if err := deleteLoginSessionsTx(tx, addr); err != nil {
				return err
			}
		case errors.Is(err, ErrNotFound):
			created = true
		default:
			return err
		}
		return putJSON(b, []byte(addr), u)
	})
	if err != nil {
		return false, fmt.Errorf("put user %s: %w", addr, err)
	}
	return created, nil
}

// User returns one user.
func (s *Store) User(address string) (*User, error) {
	var u User
	err := s.db.View(func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bucketUsers), []byte(strings.ToLower(strings.TrimSpace(address))), &u)
	})
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", address, err)
	}
	return &u, nil
}

// Users lists every user in address order.
func (s *Store) Users() ([]User, error) {
	var out []User
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(k, _ []byte) error {
			var u User
			if err := getJSON(tx.Bucket(bucketUsers), k, &u); err != nil {
				return err
			}
			out = append(out, u)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// DeleteUser removes a user and ends their sessions.
func (s *Store) DeleteUser(address string) error {
	addr := strings.ToLower(strings.TrimSpace(address))
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		if b.Get([]byte(addr)) == nil {
			return ErrNotFound
		}
		if err := b.Delete([]byte(addr)); err != nil {
			return err
		}
		return deleteLoginSessionsTx(tx, addr)
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", addr, err)
	}
	return nil
}

// Authenticate checks an address and password. It returns ErrBadLogin for
// an unknown address and for a wrong password, taking the same time.
func (s *Store) Authenticate(address, password string) (*User, error) {
	u, err := s.User(address)
	if err != nil {
		if !IsNotFound(err) {
			return nil, err
		}
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, ErrBadLogin
	}
	if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(password)) != nil {
		return nil, ErrBadLogin
	}
	return u, nil
}

// CreateLoginSession starts a session for a user and returns its ID, to be put
// in a cookie. Expired sessions are removed on the way.
func (s *Store) CreateLoginSession(address string, ttl time.Duration, now time.Time) (string, *LoginSession, error) {
	id, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	sess := &LoginSession{Address: strings.ToLower(address), CSRF: csrf, Created: now, Expires: now.Add(ttl)}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketUsers).Get([]byte(sess.Address)) == nil {
			return ErrNotFound
		}
		b := tx.Bucket(bucketLoginSessions)
		var expired [][]byte
		if err := b.ForEach(func(k, v []byte) error {
			var old LoginSession
			if getJSON(b, k, &old) != nil || !now.Before(old.Expires) {
				expired = append(expired, bytes.Clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range expired {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return putJSON(b, loginSessionKey(id), sess)
	})
	if err != nil {
		return "", nil, fmt.Errorf("create session for %s: %w", address, err)
	}
	return id, sess, nil
}

// LoginSessionUser returns the live session with the given ID and its user. An
// unknown or expired session, or one whose user is gone, is ErrNotFound.
func (s *Store) LoginSessionUser(id string, now time.Time) (*LoginSession, *User, error) {
	if id == "" {
		return nil, nil, ErrNotFound
	}
	var sess LoginSession
	var u User
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketLoginSessions), loginSessionKey(id), &sess); err != nil {
			return err
		}
		if !now.Before(sess.Expires) {
			return ErrNotFound
		}
		return getJSON(tx.Bucket(bucketUsers), []byte(sess.Address), &u)
	})
	if err != nil {
		return nil, nil, err
	}
	return &sess, &u, nil
}

// DeleteLoginSession ends a session; an unknown ID is no error.
func (s *Store) DeleteLoginSession(id string) error {
	err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketLoginSessions).Delete(loginSessionKey(id)) })
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// CheckCSRF compares a form's token with the session's in constant time.
func (sess *LoginSession) CheckCSRF(token string) bool {
	return sess != nil && sess.CSRF != "" && subtle.ConstantTimeCompare([]byte(sess.CSRF), []byte(token)) == 1
}

func deleteLoginSessionsTx(tx *bolt.Tx, addr string) error {
	b := tx.Bucket(bucketLoginSessions)
	var del [][]byte
	if err := b.ForEach(func(k, v []byte) error {
		var sess LoginSession
		if getJSON(b, k, &sess) != nil || sess.Address == addr {
			del = append(del, bytes.Clone(k))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range del {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
	}
	return nil
}

func loginSessionKey(id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return sum[:]
}

// randomToken returns 32 random bytes, hex-encoded.
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
