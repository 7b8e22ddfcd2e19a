package e2e

// proc_test.go runs the real loket binary as a child process, for the
// tests that kill it (crash_test.go): build it once, write a config file
// for a Dovecot and an SMTP listener of the test, start, kill, restart.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/poraad/loket/web"
	"github.com/poraad/loket/workflow"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// loketBinary builds cmd/loket once per test binary into dir.
func loketBinary(t *testing.T, dir string) string {
	t.Helper()
	buildOnce.Do(func() {
		bin := filepath.Join(dir, "loket")
		cmd := exec.Command("go", "build", "-o", bin, "github.com/poraad/loket/cmd/loket")
		cmd.Dir = ".."
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build cmd/loket: %w\n%s", err, out)
			return
		}
		builtBin = bin
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// freeTCPPort returns a port that was free on 127.0.0.1 a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// procConfig is what a child Loket's config file says.
type procConfig struct {
	Dir          string // store, secrets and log live here
	DovecotPort  int
	SMTPPort     int
	Listen       string
	PollInterval time.Duration
}

// writeConfig writes a loket.toml for both mailboxes on Dovecot (users
// ondersteuning/pw-o and praktijktoets/pw-p) and returns its path.
func writeConfig(t *testing.T, c procConfig) string {
	t.Helper()
	write := func(name, content string) string {
		p := filepath.Join(c.Dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tok := write("api.token", token+"\n")
	pwO := write("imap-ondersteuning.pass", "pw-o\n")
	pwP := write("imap-praktijktoets.pass", "pw-p\n")
	cfg := fmt.Sprintf(`[storage]
path = %q

[tickets]
prefix = "PO"

[web]
listen = %q

[api]
token_file = %q

[smtp]
host = "127.0.0.1"
port = %d
tls = "none"
username = ""
timeout = "5s"
max_attempts = 12
retry_base = "1s"

[confirmations]
enabled = true
per_sender_per_day = 5

[intake]
poll_interval = %q
batch_size = 50

[log]
level = "info"
format = "text"

[[mailbox]]
name = "ondersteuning"
address = %q
host = "127.0.0.1"
port = %d
tls = "none"
username = "ondersteuning"
password_file = %q
initial_sync = "import"
display_name = "Ondersteuning Passend onderwijs"

[[mailbox]]
name = "praktijktoets"
address = %q
host = "127.0.0.1"
port = %d
tls = "none"
username = "praktijktoets"
password_file = %q
initial_sync = "import"
type_prior = "praktijktoets"
display_name = "Praktijktoets Passend onderwijs"
`, filepath.Join(c.Dir, "loket.db"), c.Listen, tok, c.SMTPPort, c.PollInterval.String(),
		addrOndersteuning, c.DovecotPort, pwO, addrPraktijktoets, c.DovecotPort, pwP)
	return write("loket.toml", cfg)
}

// proc is a loket serve child process that can be killed and restarted.
type proc struct {
	t       *testing.T
	bin     string
	config  string
	logPath string
	addr    string

	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit status, once done is closed
}

func newProc(t *testing.T, bin, config, logPath, addr string) *proc {
	return &proc{t: t, bin: bin, config: config, logPath: logPath, addr: addr}
}

// start starts loket serve; its output is appended to the log file.
func (p *proc) start() {
	p.t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(p.bin, "serve", "--config", p.config)
	cmd.Stdout, cmd.Stderr = logf, logf
	// SIGKILL if the test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		p.t.Fatalf("start loket: %v", err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		p.err = cmd.Wait()
		close(done)
	}()
}

// kill ends the process with SIGKILL, the crash being simulated, and reaps it.
func (p *proc) kill() {
	p.t.Helper()
	if p.cmd == nil {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		select {
		case <-p.done: // it had died already: a crash of its own is a failure
			p.t.Fatalf("loket exited by itself (%v):\n%s", p.err, p.logTail())
		default:
			p.t.Fatalf("kill loket: %v", err)
		}
	}
	<-p.done
	p.cmd = nil
}

// stop ends the process with SIGTERM and expects a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			p.t.Errorf("loket stopped with %v:\n%s", p.err, p.logTail())
		}
	case <-time.After(20 * time.Second):
		p.kill()
		p.t.Errorf("loket did not stop within 20 s of SIGTERM")
	}
	p.cmd = nil
}

// exited reports whether the process has ended by itself.
func (p *proc) exited() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

// waitHTTP waits until the API answers.
func (p *proc) waitHTTP(d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if _, err := p.try("/healthz", nil); err == nil {
			return
		}
		if p.exited() {
			p.t.Fatalf("loket exited (%v):\n%s", p.err, p.logTail())
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("loket's API did not answer within %s:\n%s", d, p.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var apiClient = &http.Client{Timeout: 10 * time.Second}

// try GETs path with the token and decodes a 200 answer into v (when not
// nil); healthz answers are returned whatever their status.
func (p *proc) try(path string, v any) (int, error) {
	req, err := http.NewRequestWithContext(context.Background(), "GET", "http://"+p.addr+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := apiClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK && !strings.HasPrefix(path, "/healthz") {
		return resp.StatusCode, fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(body))
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			return resp.StatusCode, fmt.Errorf("GET %s: %w", path, err)
		}
	}
	return resp.StatusCode, nil
}

func (p *proc) get(path string, v any) {
	p.t.Helper()
	if _, err := p.try(path, v); err != nil {
		p.t.Fatal(err)
	}
}

func (p *proc) tickets() []web.TicketSummary { return allTickets(p.get) }

func (p *proc) unmatched() []web.MessageView {
	var out struct{ Messages []web.MessageView }
	p.get("/api/v1/unmatched", &out)
	return out.Messages
}

func (p *proc) outbox(pending bool) []workflow.OutboxEntry {
	var out struct{ Outbox []workflow.OutboxEntry }
	path := "/api/v1/outbox"
	if pending {
		path += "?pending=1"
	}
	p.get(path, &out)
	return out.Outbox
}
