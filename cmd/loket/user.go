package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/poraad/loket/workflow"
)

// userStdin is where `loket user add` reads a password that is piped in;
// tests replace it.
var userStdin io.Reader = os.Stdin

// stdinIsTerminal reports whether the password should be asked for.
var stdinIsTerminal = func() bool { return term.IsTerminal(int(os.Stdin.Fd())) }

const userUsage = `Usage:
  loket user add --config FILE --name NAME --address ADDRESS
        add a project leader to the desk, or set their name and password;
        the password is read from standard input when it is not a
        terminal (one line), else asked for twice without echo
  loket user list --config FILE
        list the desk's users
Both work while loket serve runs (through its API) and while it does not
(on the store directly).
`

func cmdUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return usageError{}
	}
	switch args[0] {
	case "add", "set":
		return cmdUserAdd(ctx, args[1:], stdout, stderr)
	case "list":
		return cmdUserList(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, userUsage)
		return nil
	default:
		fmt.Fprint(stderr, userUsage)
		return usageError{fmt.Sprintf("unknown user command %q", args[0])}
	}
}

func cmdUserAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("user add", stderr)
	cfgPath := fs.String("config", "", "config file (TOML)")
	name := fs.String("name", "", "the leader's name, as the desk shows it")
	address := fs.String("address", "", "the leader's e-mail address: their login")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" || strings.TrimSpace(*address) == "" {
		return usageError{"--name and --address are required"}
	}
	addr, err := workflow.NormalizeAddress(*address)
	if err != nil {
		return usageError{err.Error()}
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	pw, err := readPassword(stderr)
	if err != nil {
		return err
	}
	if err := workflow.CheckPasswordRules(pw); err != nil {
		return err
	}

	// While serve runs it holds the store: go through its API.
	base, berr := apiBase(cfg.Web.Listen, "")
	if berr == nil {
		api := &apiClient{base: base, token: cfg.API.Token.Reveal(), hc: &http.Client{Timeout: 30 * time.Second}}
		var out struct {
			Created bool `json:"created"`
		}
		err := api.do(ctx, "POST", "/api/v1/users", map[string]string{"name": *name, "address": addr, "password": pw}, &out)
		switch {
		case err == nil:
			reportUser(stdout, addr, out.Created, "via the running loket")
			return nil
		case !errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Errorf("add user through the running loket: %w", err)
		}
	}
	st, err := workflow.Open(cfg.Storage.Path)
	if err != nil {
		return err
	}
	created, err := st.PutUser(*name, addr, pw, time.Now())
	if cerr := st.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close store: %w", cerr)
	}
	if err != nil {
		return err
	}
	reportUser(stdout, addr, created, "in "+cfg.Storage.Path)
	return nil
}

func reportUser(w io.Writer, addr string, created bool, where string) {
	if created {
		fmt.Fprintf(w, "user %s added %s\n", addr, where)
	} else {
		fmt.Fprintf(w, "user %s updated (name and password; their sessions ended) %s\n", addr, where)
	}
}

// readPassword reads the password: one line from standard input when it is
// not a terminal, else asked for twice without echo.
func readPassword(stderr io.Writer) (string, error) {
	if !stdinIsTerminal() {
		line, err := bufio.NewReader(io.LimitReader(userStdin, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from standard input: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", errors.New("no password on standard input")
		}
		return pw, nil
	}
	fd := int(os.Stdin.Fd())
	fmt.Fprint(stderr, "Wachtwoord: ")
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	fmt.Fprint(stderr, "Nog een keer: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if string(a) != string(b) {
		return "", errors.New("the passwords differ")
	}
	return string(a), nil
}

func cmdUserList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("user list", stderr)
	cfgPath := fs.String("config", "", "config file (TOML)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	type user struct {
		Name    string    `json:"name"`
		Address string    `json:"address"`
		Created time.Time `json:"created"`
	}
	var users []user
	base, berr := apiBase(cfg.Web.Listen, "")
	viaAPI := false
	if berr == nil {
		api := &apiClient{base: base, token: cfg.API.Token.Reveal(), hc: &http.Client{Timeout: 30 * time.Second}}
		var out struct {
			Users []user `json:"users"`
		}
		err := api.do(ctx, "GET", "/api/v1/users", nil, &out)
		switch {
		case err == nil:
			users, viaAPI = out.Users, true
		case !errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Errorf("list users through the running loket: %w", err)
		}
	}
	if !viaAPI {
		st, err := workflow.Open(cfg.Storage.Path)
		if err != nil {
			return err
		}
		list, err := st.Users()
		st.Close()
		if err != nil {
			return err
		}
		for _, u := range list {
			users = append(users, user{Name: u.Name, Address: u.Address, Created: u.Created})
		}
	}
	for _, u := range users {
		fmt.Fprintf(stdout, "%-40s %-30s added %s\n", u.Address, u.Name, u.Created.Local().Format("2006-01-02"))
	}
	if len(users) == 0 {
		fmt.Fprintln(stdout, "no users yet: add one with loket user add")
	}
	return nil
}
