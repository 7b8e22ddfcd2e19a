package config

import (
	"net/url"
	"strings"
)

// Sign-in methods of a [[mailbox]] or [smtp]: the auth key.
const (
	AuthPassword = "password" // LOGIN / AUTH with password_file or password_env
	AuthOAuth2   = "oauth2"   // SASL XOAUTH2 with a token got as the oauth2 table says
)

// OAuth2 providers: the provider key of an oauth2 table.
const (
	ProviderMicrosoft = "microsoft" // Microsoft 365: client credentials (the app's own permission)
	ProviderGoogle    = "google"    // Gmail: a refresh token a user granted once
)

// Default scopes per provider.
const (
	MicrosoftScope = "https://outlook.office365.com/.default"
	GoogleScope    = "https://mail.google.com/"
)

// OAuth2 is a [mailbox.oauth2] or [smtp.oauth2] table: how Loket gets the
// access tokens it signs in with when auth = "oauth2".
type OAuth2 struct {
	Provider string `toml:"provider"` // "microsoft" or "google"; required
	// Tenant is the Microsoft 365 directory (tenant) ID or one of its
	// domains, such as "poraad.nl"; required for "microsoft" unless
	// TokenURL is set.
	Tenant           string `toml:"tenant"`
	ClientID         string `toml:"client_id"`          // the application (client) ID; required
	ClientSecretFile string `toml:"client_secret_file"` // this or ClientSecretEnv
	ClientSecretEnv  string `toml:"client_secret_env"`
	ClientSecret     Secret `toml:"-"`
	// RefreshTokenFile or RefreshTokenEnv holds the refresh token; only
	// for "google", and required there.
	RefreshTokenFile string `toml:"refresh_token_file"`
	RefreshTokenEnv  string `toml:"refresh_token_env"`
	RefreshToken     Secret `toml:"-"`
	// Scope defaults to https://outlook.office365.com/.default for
	// "microsoft" and https://mail.google.com/ for "google".
	Scope string `toml:"scope"`
	// TokenURL replaces the provider's token endpoint (sovereign clouds,
	// tests); empty for the usual one.
	TokenURL string `toml:"token_url"`
}

// Scopes returns Scope as the list the token request sends.
func (o OAuth2) Scopes() []string { return strings.Fields(o.Scope) }

// fillOAuth2 gives auth and the scope their defaults.
func fillOAuth2(auth *string, o *OAuth2) {
	if *auth == "" {
		*auth = AuthPassword
	}
	if o.Scope == "" {
		switch o.Provider {
		case ProviderMicrosoft:
			o.Scope = MicrosoftScope
		case ProviderGoogle:
			o.Scope = GoogleScope
		}
	}
}

// validateAuth checks auth and the oauth2 table of the [smtp] section or a
// [[mailbox]] at p. Secrets are read by readOAuth2Secrets.
func (v validator) validateAuth(p keyPath, auth string, o OAuth2) {
	op := p.key("oauth2")
	if !v.oneOf(p.key("auth"), auth, AuthPassword, AuthOAuth2) {
		return
	}
	if auth != AuthOAuth2 {
		if v.r.lines.has(op) {
			v.r.add(op, "is set but %s is %q; set auth = %q to use it", p.key("auth"), auth, AuthOAuth2)
		}
		return
	}
	for _, k := range []string{"password_file", "password_env"} {
		if v.r.lines.has(p.key(k)) {
			v.r.add(p.key(k), "is set but auth is %q, which signs in with a token, not a password; remove it", AuthOAuth2)
		}
	}
	if !v.r.lines.has(op) {
		v.r.add(op, "is required with auth = %q: a [%s.oauth2] table with provider, client_id and client_secret_file", AuthOAuth2, p[0])
		return
	}
	if !v.required(op.key("provider"), o.Provider) || !v.oneOf(op.key("provider"), o.Provider, ProviderMicrosoft, ProviderGoogle) {
		return
	}
	v.required(op.key("client_id"), o.ClientID)
	switch o.Provider {
	case ProviderMicrosoft:
		if o.TokenURL == "" {
			v.required(op.key("tenant"), o.Tenant)
		}
		for _, k := range []string{"refresh_token_file", "refresh_token_env"} {
			if v.r.lines.has(op.key(k)) {
				v.r.add(op.key(k), "is only for provider %q; %q uses the client secret alone", ProviderGoogle, ProviderMicrosoft)
			}
		}
	case ProviderGoogle:
		if v.r.lines.has(op.key("tenant")) {
			v.r.add(op.key("tenant"), "is only for provider %q", ProviderMicrosoft)
		}
	}
	if o.TokenURL != "" {
		u, err := url.Parse(o.TokenURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			v.r.add(op.key("token_url"), "must be an https:// URL, not %q", o.TokenURL)
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			v.r.add(op.key("token_url"), "must be https:// (http:// only to a loopback host), not %q", o.TokenURL)
		case u.User != nil:
			v.r.add(op.key("token_url"), "must not hold a user name or password")
		}
	}
}

// resolveOAuth2Paths makes the secret files of o relative to dir.
func resolveOAuth2Paths(dir string, o *OAuth2) {
	o.ClientSecretFile = resolvePath(dir, o.ClientSecretFile)
	o.RefreshTokenFile = resolvePath(dir, o.RefreshTokenFile)
}

// readOAuth2Secrets reads the client secret and, for Google, the refresh
// token of the oauth2 table of p.
func readOAuth2Secrets(r *report, p keyPath, o *OAuth2) {
	op := p.key("oauth2")
	if s, _, ok := readSecret(r, op, "client_secret", o.ClientSecretFile, o.ClientSecretEnv); ok {
		o.ClientSecret = Secret(strings.TrimSpace(s.Reveal()))
	}
	if o.Provider == ProviderGoogle {
		if s, _, ok := readSecret(r, op, "refresh_token", o.RefreshTokenFile, o.RefreshTokenEnv); ok {
			o.RefreshToken = Secret(strings.TrimSpace(s.Reveal()))
		}
	}
}
