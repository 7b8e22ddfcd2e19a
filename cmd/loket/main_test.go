package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func runCmd(t *testing.T, ctx context.Context, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(ctx, args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestVersionAndUsage(t *testing.T) {
	out, _, err := runCmd(t, context.Background(), "version")
	if err != nil || !strings.HasPrefix(out, "loket ") {
		t.Errorf("version: %q %v", out, err)
	}
	if _, _, err := runCmd(t, context.Background(), "frobnicate"); exitCode(err) != 2 {
		t.Errorf("unknown command: exit %d, want 2", exitCode(err))
	}
	if _, _, err := runCmd(t, context.Background()); exitCode(err) != 2 {
		t.Errorf("no command: exit %d, want 2", exitCode(err))
	}
}

// TestCheckConfig runs check-config on the example (with its secrets
// provided) and on a broken file, which must name each key with its line
// and exit non-zero without printing a secret.
func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadFile(filepath.Join("..", "..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(example)
	for _, f := range regexp.MustCompile(`"(/etc/loket/[^"]+)"`).FindAllStringSubmatch(text, -1) {
		local := filepath.Join(dir, filepath.Base(f[1]))
		if err := os.WriteFile(local, []byte("geheim-wachtwoord-1234567890\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		text = strings.ReplaceAll(text, f[1], local)
	}
	good := filepath.Join(dir, "good.toml")
	if err := os.WriteFile(good, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, context.Background(), "check-config", "--config", good)
	if err != nil || !strings.Contains(out, "ok (2 mailboxes") {
		t.Fatalf("check-config on the example: %q %v", out, err)
	}

	bad := regexp.MustCompile(`(?m)^tls = "starttls"`).ReplaceAllString(text, `tls = "ssl"`)
	bad = regexp.MustCompile(`(?m)^port = 993`).ReplaceAllString(bad, "port = 99999")
	badPath := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(badPath, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = runCmd(t, context.Background(), "check-config", "--config", badPath)
	if err == nil || exitCode(err) == 0 {
		t.Fatal("check-config accepted a broken file")
	}
	msg := err.Error()
	for _, want := range []string{"smtp.tls", "mailbox[0].port", "bad.toml:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "geheim-wachtwoord") {
		t.Error("error text carries a secret")
	}
	if _, _, err := runCmd(t, context.Background(), "check-config"); exitCode(err) != 2 {
		t.Errorf("check-config without --config: exit %d", exitCode(err))
	}
}

// TestDemo runs the demo for a few seconds: confirmations go out for the
// sample requests, none for the out-of-office and the noreply form.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole service for a few seconds")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, errOut, err := runCmd(t, ctx, "demo", "--listen", "127.0.0.1:0", "--for", "6s")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut)
	}
	for _, want := range []string{"Loket demo", "token", "[PO-2026-0001]", "7 tickets:", "1 unmatched", "answers the confirmation"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "  sent  "); n != 6 {
		t.Errorf("demo sent %d mails, want 6 (8 samples less an out-of-office and a noreply form):\n%s", n, out)
	}
	if strings.Contains(out, "→ noreply@") || strings.Contains(out, "→ k.smit@") {
		t.Errorf("demo answered an automatic message:\n%s", out)
	}
}
