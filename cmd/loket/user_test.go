package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/poraad/loket/web"
	"github.com/poraad/loket/workflow"
)

// userTestConfig writes a valid config (the example, with its secrets in
// files) whose store and listen address are the test's own.
func userTestConfig(t *testing.T, listen string) (cfgPath, storePath, token string) {
	t.Helper()
	dir := t.TempDir()
	example, err := os.ReadFile(filepath.Join("..", "..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(example)
	token = "test-token-0123456789abcdef"
	for _, f := range regexp.MustCompile(`"(/etc/loket/[^"]+)"`).FindAllStringSubmatch(text, -1) {
		local := filepath.Join(dir, filepath.Base(f[1]))
		if err := os.WriteFile(local, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		text = strings.ReplaceAll(text, f[1], local)
	}
	storePath = filepath.Join(dir, "loket.db")
	text = strings.Replace(text, `path = "/var/lib/loket/loket.db"`, `path = "`+storePath+`"`, 1)
	text = strings.Replace(text, `listen = "127.0.0.1:8080"`, `listen = "`+listen+`"`, 1)
	cfgPath = filepath.Join(dir, "loket.toml")
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, storePath, token
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func withStdin(t *testing.T, s string) {
	t.Helper()
	oldIn, oldTerm := userStdin, stdinIsTerminal
	userStdin, stdinIsTerminal = strings.NewReader(s), func() bool { return false }
	t.Cleanup(func() { userStdin, stdinIsTerminal = oldIn, oldTerm })
}

func TestUserAdd(t *testing.T) {
	addr := freeAddr(t)
	cfg, storePath, token := userTestConfig(t, addr)
	ctx := context.Background()

	tests := []struct {
		name, stdin string
		args        []string
		wantErr     bool
		wantOut     string
	}{
		{"no name", "een-lang-wachtwoord\n", []string{"user", "add", "--config", cfg, "--address", "a@poraad.nl"}, true, ""},
		{"bad address", "een-lang-wachtwoord\n", []string{"user", "add", "--config", cfg, "--name", "A", "--address", "geen adres"}, true, ""},
		{"short password", "kort\n", []string{"user", "add", "--config", cfg, "--name", "A", "--address", "a@poraad.nl"}, true, ""},
		{"empty stdin", "", []string{"user", "add", "--config", cfg, "--name", "A", "--address", "a@poraad.nl"}, true, ""},
		{"added offline", "een-lang-wachtwoord\r\n", []string{"user", "add", "--config", cfg, "--name", "Anne", "--address", "Anne@poraad.nl"}, false, "user anne@poraad.nl added in " + storePath},
		{"updated offline", "nog-een-wachtwoord", []string{"user", "set", "--config", cfg, "--name", "Anne B", "--address", "anne@poraad.nl"}, false, "updated"},
		{"unknown subcommand", "", []string{"user", "frob"}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			withStdin(t, tc.stdin)
			out, _, err := runCmd(t, ctx, tc.args...)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if !strings.Contains(out, tc.wantOut) {
				t.Errorf("output %q lacks %q", out, tc.wantOut)
			}
		})
	}
	st, err := workflow.Open(storePath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Authenticate("anne@poraad.nl", "nog-een-wachtwoord"); err != nil {
		t.Errorf("offline user cannot log in: %v", err)
	}

	// While a server holds the store, the command goes through its API.
	api := &web.API{Store: st, Token: token, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer func() { srv.Close(); st.Close() }()

	withStdin(t, "wachtwoord-van-bram\n")
	out, _, err := runCmd(t, ctx, "user", "add", "--config", cfg, "--name", "Bram", "--address", "bram@poraad.nl")
	if err != nil || !strings.Contains(out, "added via the running loket") {
		t.Fatalf("add while serving: %q %v", out, err)
	}
	if _, err := st.Authenticate("bram@poraad.nl", "wachtwoord-van-bram"); err != nil {
		t.Errorf("user added through the API cannot log in: %v", err)
	}
	out, _, err = runCmd(t, ctx, "user", "list", "--config", cfg)
	if err != nil || !strings.Contains(out, "anne@poraad.nl") || !strings.Contains(out, "bram@poraad.nl") {
		t.Errorf("list: %q %v", out, err)
	}
}
