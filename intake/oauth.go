package intake

// oauth.go signs a Poller in with OAuth2 instead of a password: Microsoft
// 365 and Gmail no longer accept passwords for IMAP. NewTokenSource gets
// access tokens (client credentials for Microsoft, a refresh token for
// Google) and renews them before they expire; the session sends one with
// AUTHENTICATE XOAUTH2 (see session.login). The SMTP side (workflow's
// Sender) uses the same token sources.
//
// Neither the client secret, the refresh token nor an access token is ever
// logged or put in an error message.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// OAuth2 providers.
const (
	ProviderMicrosoft = "microsoft" // Microsoft 365: client credentials (an app's own permission)
	ProviderGoogle    = "google"    // Gmail: a refresh token a user granted once
)

// Default scopes and token endpoints.
const (
	// MicrosoftScope is the scope of IMAP.AccessAsApp and SMTP.SendAsApp.
	MicrosoftScope = "https://outlook.office365.com/.default"
	// GoogleScope is full mail access, the only scope Gmail's IMAP and SMTP
	// accept.
	GoogleScope = "https://mail.google.com/"
	// MicrosoftTokenURL is the token endpoint; %s is the tenant.
	MicrosoftTokenURL = "https://login.microsoftonline.com/%s/oauth2/v2.0/token"
	GoogleTokenURL    = "https://oauth2.googleapis.com/token"
)

// Defaults for the zero values of OAuth2Config.
const (
	DefaultTokenTimeout  = 30 * time.Second
	DefaultRefreshBefore = 5 * time.Minute
)

// OAuth2Config says how to get OAuth2 access tokens for a mailbox or the
// SMTP server.
type OAuth2Config struct {
	Provider string // ProviderMicrosoft or ProviderGoogle

	Tenant       string // Microsoft: the directory (tenant) ID or a domain of it
	ClientID     string
	ClientSecret string
	RefreshToken string // Google

	Scopes   []string // empty: MicrosoftScope or GoogleScope
	TokenURL string   // empty: the provider's (tests, sovereign clouds)

	// Timeout bounds each request to the token endpoint; 0 means 30s.
	Timeout time.Duration
	// RefreshBefore is how long before its expiry a token is renewed; 0
	// means 5 minutes.
	RefreshBefore time.Duration
	// HTTPClient makes the token requests (tests); nil means a client with
	// Timeout.
	HTTPClient *http.Client
}

// NewTokenSource returns a token source for c. It asks the token endpoint
// for a token on the first call to Token, and again only when the token is
// within RefreshBefore of its expiry; in between it returns the same token.
// Its errors never contain the client secret or the refresh token.
func NewTokenSource(c OAuth2Config) (oauth2.TokenSource, error) {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTokenTimeout
	}
	if c.RefreshBefore <= 0 {
		c.RefreshBefore = DefaultRefreshBefore
	}
	if c.ClientID == "" {
		return nil, errors.New("oauth2: no client ID")
	}
	if c.ClientSecret == "" {
		return nil, errors.New("oauth2: no client secret")
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: c.Timeout}
	}
	// The token requests run later, from Token, with this context: it
	// carries the HTTP client whose Timeout bounds each of them.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)

	var src oauth2.TokenSource
	secrets := []string{c.ClientSecret}
	switch c.Provider {
	case ProviderMicrosoft:
		if c.TokenURL == "" {
			if c.Tenant == "" {
				return nil, errors.New("oauth2: no tenant")
			}
			c.TokenURL = fmt.Sprintf(MicrosoftTokenURL, url.PathEscape(c.Tenant))
		}
		if len(c.Scopes) == 0 {
			c.Scopes = []string{MicrosoftScope}
		}
		cc := &clientcredentials.Config{
			ClientID: c.ClientID, ClientSecret: c.ClientSecret,
			TokenURL: c.TokenURL, Scopes: c.Scopes,
			AuthStyle: oauth2.AuthStyleInParams,
		}
		src = cc.TokenSource(ctx)
	case ProviderGoogle:
		if c.RefreshToken == "" {
			return nil, errors.New("oauth2: no refresh token")
		}
		secrets = append(secrets, c.RefreshToken)
		if c.TokenURL == "" {
			c.TokenURL = GoogleTokenURL
		}
		if len(c.Scopes) == 0 {
			c.Scopes = []string{GoogleScope}
		}
		oc := &oauth2.Config{
			ClientID: c.ClientID, ClientSecret: c.ClientSecret,
			Endpoint: oauth2.Endpoint{TokenURL: c.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
			Scopes:   c.Scopes,
		}
		src = oc.TokenSource(ctx, &oauth2.Token{RefreshToken: c.RefreshToken})
	default:
		return nil, fmt.Errorf("oauth2: provider must be %q or %q, not %q", ProviderMicrosoft, ProviderGoogle, c.Provider)
	}
	return &cleanTokenSource{
		src:      oauth2.ReuseTokenSourceWithExpiry(nil, src, c.RefreshBefore),
		tokenURL: c.TokenURL,
		secrets:  secrets,
	}, nil
}

// cleanTokenSource turns the errors of the token requests into a TokenError
// without secrets.
type cleanTokenSource struct {
	src      oauth2.TokenSource
	tokenURL string
	secrets  []string
}

func (s *cleanTokenSource) Token() (*oauth2.Token, error) {
	t, err := s.src.Token()
	if err != nil {
		return nil, &TokenError{TokenURL: s.tokenURL, Err: err, text: s.describe(err)}
	}
	if t.AccessToken == "" {
		return nil, &TokenError{TokenURL: s.tokenURL, text: "the token endpoint sent no access token"}
	}
	return t, nil
}

// describe says what went wrong without the response body (which a
// misbehaving endpoint could fill with anything) and without a secret.
func (s *cleanTokenSource) describe(err error) string {
	var text string
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.ErrorCode != "":
		text = re.ErrorCode
		if d := re.ErrorDescription; d != "" {
			d, _, _ = strings.Cut(d, "\n") // Microsoft appends trace and correlation IDs
			text += ": " + strings.TrimSpace(d)
		}
	case errors.As(err, &re) && re.Response != nil:
		text = "HTTP " + re.Response.Status
	default:
		text = err.Error()
	}
	for _, secret := range s.secrets {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, "REDACTED")
		}
	}
	return text
}

// TokenError is a failure to get an OAuth2 access token. Its text names the
// token endpoint and what it answered, never a secret.
type TokenError struct {
	TokenURL string
	Err      error // as the oauth2 package gave it; may hold the response body
	text     string
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("get OAuth2 token from %s: %s", e.TokenURL, e.text)
}

func (e *TokenError) Unwrap() error { return e.Err }

// WatchTokens returns ts wrapped so that onError (if not nil) hears of
// every failure to get a token, and onOK (if not nil) of the first token
// and of the first one after failures. name is passed on to both: the
// mailbox name, or "smtp". Both are called on the goroutine that asked for
// the token and must not block.
func WatchTokens(name string, ts oauth2.TokenSource, onError func(name string, err error), onOK func(name string)) oauth2.TokenSource {
	if onError == nil && onOK == nil {
		return ts
	}
	return &watchedTokenSource{name: name, src: ts, onError: onError, onOK: onOK}
}

type watchedTokenSource struct {
	name    string
	src     oauth2.TokenSource
	onError func(string, error)
	onOK    func(string)

	mu sync.Mutex
	ok bool // the last Token call worked
}

func (w *watchedTokenSource) Token() (*oauth2.Token, error) {
	t, err := w.src.Token()
	w.mu.Lock()
	wasOK := w.ok
	w.ok = err == nil
	w.mu.Unlock()
	switch {
	case err != nil && w.onError != nil:
		w.onError(w.name, err)
	case err == nil && !wasOK && w.onOK != nil:
		w.onOK(w.name)
	}
	return t, err
}

// tokenContext gets a token from ts, or returns ctx's error as soon as ctx
// is done. (A TokenSource takes no context; a request that is still running
// then ends by itself within its timeout.)
func tokenContext(ctx context.Context, ts oauth2.TokenSource) (*oauth2.Token, error) {
	type result struct {
		t   *oauth2.Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		t, err := ts.Token()
		done <- result{t, err}
	}()
	select {
	case r := <-done:
		return r.t, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// xoauth2Client is the client side of SASL XOAUTH2, the mechanism Gmail and
// Microsoft 365 take OAuth2 bearer tokens with:
// https://developers.google.com/gmail/imap/xoauth2-protocol.
type xoauth2Client struct {
	user, token string
	// serverErr is the JSON the server sends as a challenge when it
	// refuses the token, e.g. {"status":"401","schemes":"bearer",...}.
	serverErr []byte
}

func (c *xoauth2Client) Start() (mech string, ir []byte, err error) {
	return "XOAUTH2", []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

// Next answers the only challenge XOAUTH2 has, the server's error, with an
// empty response, after which the server ends the command with NO.
func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	c.serverErr = append([]byte(nil), challenge...)
	return []byte{}, nil
}

// login signs the session in: with LOGIN and the password, or, when the
// mailbox has a TokenSource, with AUTHENTICATE XOAUTH2 and a token from it.
func (s *session) login(ctx context.Context) error {
	p := s.p
	if p.cfg.TokenSource == nil {
		return s.do("LOGIN", p.cfg.CommandTimeout, func() error {
			return s.c.Login(p.cfg.Username, p.cfg.Password).Wait()
		})
	}
	tok, err := tokenContext(ctx, p.cfg.TokenSource)
	if err != nil {
		return err
	}
	sc := &xoauth2Client{user: p.cfg.Username, token: tok.AccessToken}
	err = s.do("AUTHENTICATE XOAUTH2", p.cfg.CommandTimeout, func() error {
		return s.c.Authenticate(sc)
	})
	if err != nil && len(sc.serverErr) > 0 {
		detail := string(sc.serverErr)
		if len(detail) > 200 {
			detail = detail[:200] + "…"
		}
		err = fmt.Errorf("%w (server said %s)", err, strings.ToValidUTF8(detail, "?"))
	}
	return err
}
