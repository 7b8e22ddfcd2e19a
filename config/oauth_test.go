package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	oauthClientSecret = "oauth-client-secret-not-real-5e0c"
	oauthRefreshToken = "oauth-refresh-token-not-real-a81f"
	oauthEnvSecret    = "oauth-env-secret-not-real-33d9"
)

// oauthBase is a valid configuration up to its [smtp] section and first
// [[mailbox]], to which a test appends the sign-in keys.
const oauthBase = `[storage]
path = "loket.db"
[tickets]
prefix = "PO"
[web]
listen = "127.0.0.1:8080"
[api]
token_env = "LOKET_TEST_API_TOKEN"
`

// parseOAuth writes the secrets next to a file with text and parses it.
func parseOAuth(t *testing.T, text string) (*Config, string, error) {
	t.Helper()
	dir := t.TempDir()
	for name, s := range map[string]string{"client.secret": oauthClientSecret, "google.refresh": oauthRefreshToken} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("LOKET_TEST_API_TOKEN", envAPIToken)
	t.Setenv("LOKET_TEST_OAUTH_SECRET", oauthEnvSecret)
	c, err := Parse([]byte(oauthBase+text), filepath.Join(dir, "loket.toml"))
	return c, dir, err
}

func TestOAuth2Valid(t *testing.T) {
	c, dir, err := parseOAuth(t, `
[smtp]
host = "smtp.gmail.com"
port = 465
tls = "tls"
username = "desk@example.org"
auth = "oauth2"

[smtp.oauth2]
provider = "google"
client_id = "123.apps.googleusercontent.com"
client_secret_file = "client.secret"
refresh_token_file = "google.refresh"

[[mailbox]]
name = "ondersteuning"
address = "ondersteuningpassendonderwijs@poraad.nl"
host = "outlook.office365.com"
port = 993
username = "ondersteuningpassendonderwijs@poraad.nl"
auth = "oauth2"

[mailbox.oauth2]
provider = "microsoft"
tenant = "poraad.nl"
client_id = "00000000-0000-0000-0000-000000000001"
client_secret_env = "LOKET_TEST_OAUTH_SECRET"

[[mailbox]]
name = "praktijktoets"
address = "praktijktoets@ondersteuningpassendonderwijs.nl"
host = "outlook.office365.com"
port = 993
username = "praktijktoets@ondersteuningpassendonderwijs.nl"
auth = "oauth2"
oauth2 = { provider = "microsoft", tenant = "poraad.nl", client_id = "id-2", client_secret_file = "client.secret", scope = "a b", token_url = "https://login.microsoftonline.us/poraad.nl/oauth2/v2.0/token" }
`)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("smtp.auth", c.SMTP.Auth, AuthOAuth2)
	check("smtp.oauth2", c.SMTP.OAuth2, OAuth2{
		Provider: ProviderGoogle, ClientID: "123.apps.googleusercontent.com",
		ClientSecretFile: filepath.Join(dir, "client.secret"), ClientSecret: oauthClientSecret,
		RefreshTokenFile: filepath.Join(dir, "google.refresh"), RefreshToken: oauthRefreshToken,
		Scope: GoogleScope,
	})
	check("mailbox[0].auth", c.Mailboxes[0].Auth, AuthOAuth2)
	check("mailbox[0].oauth2", c.Mailboxes[0].OAuth2, OAuth2{
		Provider: ProviderMicrosoft, Tenant: "poraad.nl", ClientID: "00000000-0000-0000-0000-000000000001",
		ClientSecretEnv: "LOKET_TEST_OAUTH_SECRET", ClientSecret: oauthEnvSecret, Scope: MicrosoftScope,
	})
	check("mailbox[0] password", c.Mailboxes[0].Password.Reveal(), "")
	o := c.Mailboxes[1].OAuth2
	check("mailbox[1] scopes", o.Scopes(), []string{"a", "b"})
	check("mailbox[1] token_url", o.TokenURL, "https://login.microsoftonline.us/poraad.nl/oauth2/v2.0/token")
	check("mailbox[1] secret", o.ClientSecret.Reveal(), oauthClientSecret)

	var out strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		fmt.Fprintf(&out, verb+"\n", c)
	}
	for _, s := range []string{oauthClientSecret, oauthRefreshToken, oauthEnvSecret} {
		if strings.Contains(out.String(), s) {
			t.Errorf("a printed configuration holds a secret")
		}
	}
}

// The default stays password, and a password mailbox needs no oauth2 table.
func TestOAuth2DefaultIsPassword(t *testing.T) {
	c, err := Load("testdata/valid.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.Auth != AuthPassword || c.Mailboxes[0].Auth != AuthPassword {
		t.Errorf("auth = %q and %q, want %q", c.SMTP.Auth, c.Mailboxes[0].Auth, AuthPassword)
	}
}

func TestOAuth2Problems(t *testing.T) {
	_, _, err := parseOAuth(t, `
[smtp]
host = "smtp.office365.com"
port = 587
auth = "oauth2"

[smtp.oauth2]
provider = "microsoft"
client_secret = "hunter2"

[[mailbox]]
name = "a"
address = "a@example.org"
host = "imap.example.org"
port = 993
username = "a@example.org"
auth = "token"

[[mailbox]]
name = "b"
address = "b@example.org"
host = "imap.example.org"
port = 993
username = "b@example.org"
password_file = "b.pass"
auth = "oauth2"

[mailbox.oauth2]
provider = "google"
tenant = "example.org"
client_id = "id"
client_secret_file = "missing.secret"
token_url = "http://tokens.example.org/token"

[[mailbox]]
name = "c"
address = "c@example.org"
host = "imap.example.org"
port = 993
username = "c@example.org"
password_file = "client.secret"

[mailbox.oauth2]
provider = "microsoft"

[[mailbox]]
name = "d"
address = "d@example.org"
host = "imap.example.org"
port = 993
username = "d@example.org"
auth = "oauth2"
`)
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Parse = %v, want *Error", err)
	}
	var got []wantProblem
	for _, p := range cerr.Problems {
		got = append(got, wantProblem{p.Key, p.Line})
	}
	want := []wantProblem{
		{"smtp.username", 10}, // the [smtp] header: required with oauth2
		{"smtp.oauth2.client_id", 15},
		{"smtp.oauth2.tenant", 15},
		{"smtp.oauth2.client_secret_file", 15},
		{"smtp.oauth2.client_secret", 17}, // unknown key: secrets go in files
		{"mailbox[0].password_file", 19},  // auth is not oauth2, so a password it is
		{"mailbox[0].auth", 25},
		{"mailbox[1].password_file", 33}, // a password with oauth2
		{"mailbox[1].oauth2.refresh_token_file", 36},
		{"mailbox[1].oauth2.tenant", 38}, // only for microsoft
		{"mailbox[1].oauth2.client_secret_file", 40},
		{"mailbox[1].oauth2.token_url", 41}, // http to a remote host
		{"mailbox[2].oauth2", 51},           // auth is password
		{"mailbox[3].oauth2", 54},           // required with oauth2, and missing
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems (key, line):\n got %v\nwant %v\nerror:\n%v", got, want, err)
	}
	for _, w := range []string{"hunter2", oauthClientSecret} {
		if strings.Contains(err.Error(), w) {
			t.Errorf("error text holds a secret")
		}
	}
}
