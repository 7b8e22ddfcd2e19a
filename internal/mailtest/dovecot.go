package mailtest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// dovecotUID is the owner of the mail files. Dovecot refuses uid 0 for mail
// access, and this uid needs no passwd entry.
const dovecotUID = 5000

// dovecotBinary returns the path of the dovecot binary, or "".
func dovecotBinary() string {
	if p, err := exec.LookPath("dovecot"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/dovecot", "/usr/local/sbin/dovecot"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

// DovecotAvailable reports whether the dovecot binary is installed, so tests
// can skip when it is not (it always is in CI).
func DovecotAvailable() bool { return dovecotBinary() != "" }

// RequireDovecot skips t when Dovecot is not installed, except in CI (the
// CI environment variable set), where a missing Dovecot fails the test:
// CI installs it, so its absence is a broken CI, not a reason to skip.
func RequireDovecot(t testing.TB) {
	t.Helper()
	if DovecotAvailable() {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("dovecot is not installed, and CI must run the tests that need it")
	}
	t.Skip("dovecot not installed (apt-get install dovecot-imapd)")
}

// Dovecot is a private instance of the real Dovecot IMAP server: its own
// configuration, users and maildirs under one directory, listening on
// 127.0.0.1 only, plain-text LOGIN allowed. It does not touch the system's
// Dovecot.
type Dovecot struct {
	bin     string
	dir     string
	conf    string
	logPath string
	pidPath string
	port    int
	users   map[string]string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been reaped
}

// StartDovecot writes a configuration for a new instance under dir (which
// should be empty, e.g. t.TempDir()) and starts it on a free port. users
// maps user names to plain-text passwords. dir's mail is owned by uid/gid
// 5000 and dir and its parents are made traversable (o+x) for Dovecot's
// unprivileged processes. Call Stop when done.
func StartDovecot(dir string, users map[string]string) (*Dovecot, error) {
	bin := dovecotBinary()
	if bin == "" {
		return nil, errors.New("mailtest: dovecot is not installed (Debian: apt-get install dovecot-imapd)")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	// Dovecot's unix sockets live under base_dir; sun_path holds 108 bytes.
	if len(dir) > 70 {
		return nil, fmt.Errorf("mailtest: dovecot directory %q is too long for its sockets", dir)
	}
	d := &Dovecot{
		bin:     bin,
		dir:     dir,
		conf:    filepath.Join(dir, "dovecot.conf"),
		logPath: filepath.Join(dir, "dovecot.log"),
		pidPath: filepath.Join(dir, "run", "master.pid"),
		users:   make(map[string]string, len(users)),
	}
	var passwd strings.Builder
	for u, p := range users {
		if strings.ContainsAny(u+p, ":\n") || u == "" {
			return nil, fmt.Errorf("mailtest: user %q or its password cannot go in a passwd-file", u)
		}
		d.users[u] = p
		fmt.Fprintf(&passwd, "%s:{PLAIN}%s\n", u, p)
	}
	for _, sub := range []string{"state", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(passwd.String()), 0o644); err != nil {
		return nil, err
	}
	if err := chownTree(filepath.Join(dir, "mail"), dovecotUID, dovecotUID); err != nil {
		return nil, err
	}
	if err := makeTraversable(dir); err != nil {
		return nil, err
	}
	if d.port, err = freePort(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(d.conf, []byte(d.config()), 0o644); err != nil {
		return nil, err
	}
	if err := d.Start(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Dovecot) config() string {
	return fmt.Sprintf(`# Written by Loket's mailtest for a private test instance.
base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = loket-mailtest-%[2]d
log_path = %[1]s/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[3]d gid=%[3]d home=%[1]s/mail/%%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[2]d
  }
  inet_listener imaps {
    port = 0
  }
}
`, d.dir, d.port, dovecotUID)
}

// Port returns the IMAP port.
func (d *Dovecot) Port() int { return d.port }

// Addr returns "127.0.0.1:port".
func (d *Dovecot) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port)) }

// Host returns "127.0.0.1".
func (d *Dovecot) Host() string { return "127.0.0.1" }

// Start starts the instance (again, after Stop: same port, same mail) and
// waits for its greeting.
func (d *Dovecot) Start() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd != nil {
		return errors.New("mailtest: dovecot is already running")
	}
	logf, err := os.OpenFile(d.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	// -F keeps the master in the foreground as our child, so that we reap it
	// (a daemonised master becomes a zombie where pid 1 does not reap).
	// Its output goes to the log file, never to a pipe of ours: the daemon
	// keeps it open.
	cmd := exec.Command(d.bin, "-F", "-c", d.conf)
	cmd.Stdin = nil
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Its own process group, so that Stop can end every process of the
	// instance (the master leaves client connections' imap processes
	// running); and SIGTERM if the test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return fmt.Errorf("start dovecot: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	d.cmd, d.exited = cmd, exited

	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := d.greeting(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			d.stopLocked()
			return fmt.Errorf("dovecot did not greet on %s: %w\n%s", d.Addr(), err, d.tail())
		}
		select {
		case <-exited:
			d.cmd, d.exited = nil, nil
			return fmt.Errorf("dovecot exited at start (%v)\n%s", cmd.ProcessState, d.tail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// greeting dials the IMAP port and reads the server's first line.
func (d *Dovecot) greeting() error {
	conn, err := net.DialTimeout("tcp", d.Addr(), time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "* OK") {
		return fmt.Errorf("unexpected greeting %q", line)
	}
	return nil
}

// Stop shuts the instance down the way a server outage looks to clients:
// SIGTERM to the master process (the pid in base_dir/master.pid), then the
// end of every process left in the instance's process group (the imap
// processes of open connections survive the master), so that every client
// connection is closed. It returns when the port is closed. Stopping a
// stopped instance does nothing.
func (d *Dovecot) Stop() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopLocked()
}

func (d *Dovecot) stopLocked() error {
	if d.cmd == nil {
		return nil
	}
	pgid := d.cmd.Process.Pid
	pid := pgid
	if b, err := os.ReadFile(d.pidPath); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 {
			pid = p
		}
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop dovecot (pid %d): %w", pid, err)
	}
	var err error
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		err = fmt.Errorf("dovecot did not stop within 20s after SIGTERM; killed\n%s", d.tail())
	}
	// What is left: the log and stats processes and the imap process of
	// every open connection. They have been told; now they go.
	syscall.Kill(-pgid, syscall.SIGTERM)
	time.Sleep(100 * time.Millisecond)
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-d.exited
	d.cmd, d.exited = nil, nil

	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, derr := net.DialTimeout("tcp", d.Addr(), 200*time.Millisecond)
		if derr != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			return errors.Join(err, fmt.Errorf("dovecot port %d still open after stop", d.port))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// Restart stops and starts the instance.
func (d *Dovecot) Restart() error {
	if err := d.Stop(); err != nil {
		return err
	}
	return d.Start()
}

// Running reports whether the instance has been started and not stopped.
func (d *Dovecot) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cmd != nil
}

// Log returns everything Dovecot has logged so far.
func (d *Dovecot) Log() string {
	b, _ := os.ReadFile(d.logPath)
	return string(b)
}

// tail returns the end of the log, for error messages.
func (d *Dovecot) tail() string {
	s := d.Log()
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return s
}

// Append delivers raw to a user's folder through an IMAP connection logged
// in as that user, creating the folder if needed. flags are set on the new
// message (e.g. `\Seen`).
func (d *Dovecot) Append(user, folder string, raw []byte, flags ...string) error {
	password, ok := d.users[user]
	if !ok {
		return fmt.Errorf("mailtest: no user %q", user)
	}
	return withClient(d.Addr(), "", nil, user, password, func(c *imapclient.Client) error {
		return appendTo(c, folder, raw, flags)
	})
}

// Messages lists a user's folder read-only, in UID order.
func (d *Dovecot) Messages(user, folder string) ([]Stored, error) {
	password, ok := d.users[user]
	if !ok {
		return nil, fmt.Errorf("mailtest: no user %q", user)
	}
	var out []Stored
	err := withClient(d.Addr(), "", nil, user, password, func(c *imapclient.Client) error {
		var err error
		out, err = messages(c, folder)
		return err
	})
	return out, err
}

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return 0, err
	}
	return port, nil
}

// chownTree changes the owner of root and everything below it.
func chownTree(root string, uid, gid int) error {
	return filepath.WalkDir(root, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// makeTraversable adds o+x to dir and each of its parents that lacks it, so
// that Dovecot's processes (running as dovecot and as uid 5000) can reach
// the passwd-file and the mail.
func makeTraversable(dir string) error {
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("make %s traversable for dovecot: %w", p, err)
			}
		}
		if parent := filepath.Dir(p); parent == p {
			return nil
		}
	}
}
