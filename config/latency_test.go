package config

import (
	"errors"
	"testing"
	"time"
)

// TestOutboxAndIdleKeys: smtp.max_connections and intake.idle_recheck
// take their defaults when absent, and a bad value is reported with its
// key and line.
func TestOutboxAndIdleKeys(t *testing.T) {
	const base = `[storage]
path = "loket.db"
[tickets]
prefix = "PO"
[web]
listen = "127.0.0.1:8080"
[api]
token_env = "LOKET_TEST_API_TOKEN"
[[mailbox]]
name = "ondersteuning"
address = "ondersteuning@example.org"
host = "127.0.0.1"
port = 143
tls = "none"
username = "ondersteuning"
password_env = "LOKET_TEST_IMAP_PASSWORD"
[smtp]
host = "127.0.0.1"
port = 25
tls = "none"
`
	t.Setenv("LOKET_TEST_API_TOKEN", "0123456789abcdef0123")
	t.Setenv("LOKET_TEST_IMAP_PASSWORD", "geheim")
	tests := []struct {
		name        string
		extra       string
		wantKey     string // "" for no problem
		wantLine    int
		wantConns   int
		wantRecheck time.Duration
	}{
		{"defaults", "", "", 0, 4, 0},
		{"set", "max_connections = 2\n[intake]\nidle_recheck = \"50ms\"\n", "", 0, 2, 50 * time.Millisecond},
		{"recheck off", "[intake]\nidle_recheck = \"0\"\n", "", 0, 4, 0},
		{"no connections", "max_connections = 0\n", "smtp.max_connections", 21, 0, 0},
		{"negative recheck", "[intake]\nidle_recheck = \"-1s\"\n", "intake.idle_recheck", 22, 0, 0},
		{"recheck not a duration", "[intake]\nidle_recheck = \"often\"\n", "intake.idle_recheck", 22, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(base+tt.extra), "loket.toml")
			if tt.wantKey == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.SMTP.MaxConnections != tt.wantConns || c.Intake.IdleRecheck.Duration != tt.wantRecheck {
					t.Errorf("max_connections %d, idle_recheck %v; want %d, %v",
						c.SMTP.MaxConnections, c.Intake.IdleRecheck.Duration, tt.wantConns, tt.wantRecheck)
				}
				return
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Parse = %v, want an *Error", err)
			}
			if len(cerr.Problems) != 1 || cerr.Problems[0].Key != tt.wantKey || cerr.Problems[0].Line != tt.wantLine {
				t.Errorf("problems %+v, want one for %s on line %d", cerr.Problems, tt.wantKey, tt.wantLine)
			}
		})
	}
}
