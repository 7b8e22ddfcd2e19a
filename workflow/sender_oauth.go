package workflow

import (
	"fmt"

	"github.com/poraad/loket/intake"
	"github.com/wneessen/go-mail"
	"golang.org/x/oauth2"
)

// watchSMTPTokens wraps the SMTP token source so that the alerting hooks
// hear of failures and recoveries.
func watchSMTPTokens(cfg SMTPConfig) oauth2.TokenSource {
	return intake.WatchTokens("smtp", cfg.TokenSource, cfg.OnTokenError, cfg.OnTokenOK)
}

// oauth2Options returns the go-mail options that sign in with AUTH
// XOAUTH2 and a token fresh from the token source (renewed by it before it
// expires). The token is only handed to go-mail, never logged.
func (s *Sender) oauth2Options() ([]mail.Option, error) {
	tok, err := s.cfg.TokenSource.Token()
	if err != nil {
		return nil, fmt.Errorf("smtp sign-in: %w", err)
	}
	return []mail.Option{
		mail.WithSMTPAuth(mail.SMTPAuthXOAUTH2),
		mail.WithUsername(s.cfg.Username),
		mail.WithPassword(tok.AccessToken),
	}, nil
}
