package main

import (
	"fmt"

	"github.com/poraad/loket/config"
	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/internal/app"
	"golang.org/x/oauth2"
)

// tokenSource returns the source of access tokens for auth = "oauth2" with
// the oauth2 table o, or nil for auth = "password". what names the section
// in an error ("smtp", "mailbox ondersteuning").
func tokenSource(what, auth string, o config.OAuth2) (oauth2.TokenSource, error) {
	if auth != config.AuthOAuth2 {
		return nil, nil
	}
	ts, err := intake.NewTokenSource(intake.OAuth2Config{
		Provider:     o.Provider,
		Tenant:       o.Tenant,
		ClientID:     o.ClientID,
		ClientSecret: o.ClientSecret.Reveal(),
		RefreshToken: o.RefreshToken.Reveal(),
		Scopes:       o.Scopes(),
		TokenURL:     o.TokenURL,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return ts, nil
}

// addTokenSources gives the SMTP options and every mailbox with auth =
// "oauth2" its token source. o.Mailboxes are in the order of c.Mailboxes.
func addTokenSources(c *config.Config, o *app.Options) error {
	var err error
	if o.SMTP.TokenSource, err = tokenSource("smtp", c.SMTP.Auth, c.SMTP.OAuth2); err != nil {
		return err
	}
	for i, m := range c.Mailboxes {
		if o.Mailboxes[i].TokenSource, err = tokenSource("mailbox "+m.Name, m.Auth, m.OAuth2); err != nil {
			return err
		}
	}
	return nil
}
