package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// minTokenLen is the shortest API token accepted.
const minTokenLen = 16

// resolvePaths makes the relative paths in the file relative to dir, the
// folder of the configuration file.
func (c *Config) resolvePaths(dir string) {
	for _, p := range []*string{
		&c.Storage.Path,
		&c.API.TokenFile,
		&c.SMTP.PasswordFile,
		&c.Confirmations.TemplatesDir,
		&c.Backup.Dir,
	} {
		*p = resolvePath(dir, *p)
	}
	resolveOAuth2Paths(dir, &c.SMTP.OAuth2)
	for i := range c.Mailboxes {
		c.Mailboxes[i].PasswordFile = resolvePath(dir, c.Mailboxes[i].PasswordFile)
		resolveOAuth2Paths(dir, &c.Mailboxes[i].OAuth2)
	}
}

func resolvePath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// readSecrets reads the API token and the passwords, and checks the
// templates folder. Problems name the file or variable, never what is in it.
func (c *Config) readSecrets(r *report) {
	api := keyPath{"api"}
	if tok, key, ok := readSecret(r, api, "token", c.API.TokenFile, c.API.TokenEnv); ok {
		tok = Secret(strings.TrimSpace(tok.Reveal()))
		if utf8.RuneCountInString(tok.Reveal()) < minTokenLen {
			r.add(key, "the token must be at least %d characters long", minTokenLen)
		} else {
			c.API.Token = tok
		}
	}

	smtp := keyPath{"smtp"}
	if c.SMTP.Auth == AuthOAuth2 {
		readOAuth2Secrets(r, smtp, &c.SMTP.OAuth2)
	} else if c.SMTP.Username == "" {
		switch {
		case c.SMTP.PasswordFile != "":
			r.add(smtp.key("password_file"), "is set but smtp.username is empty; without a username Loket does not log in (no AUTH)")
		case c.SMTP.PasswordEnv != "":
			r.add(smtp.key("password_env"), "is set but smtp.username is empty; without a username Loket does not log in (no AUTH)")
		}
	} else if pw, _, ok := readSecret(r, smtp, "password", c.SMTP.PasswordFile, c.SMTP.PasswordEnv); ok {
		c.SMTP.Password = pw
	}

	for i := range c.Mailboxes {
		m := &c.Mailboxes[i]
		if m.Auth == AuthOAuth2 {
			readOAuth2Secrets(r, keyPath{"mailbox"}.index(i), &m.OAuth2)
			continue
		}
		if pw, _, ok := readSecret(r, keyPath{"mailbox"}.index(i), "password", m.PasswordFile, m.PasswordEnv); ok {
			m.Password = pw
		}
	}

	if dir := c.Confirmations.TemplatesDir; dir != "" {
		p := keyPath{"confirmations", "templates_dir"}
		switch st, err := os.Stat(dir); {
		case err != nil:
			r.add(p, "cannot use folder %q: %s", dir, fileErrorText(err))
		case !st.IsDir():
			r.add(p, "%q is not a folder", dir)
		}
	}
}

// readSecret reads the secret named by the keys NAME_file and NAME_env of
// table p, of which exactly one must be set. It returns the
// secret, the key it came from, and whether it was read.
func readSecret(r *report, p keyPath, name, file, env string) (Secret, keyPath, bool) {
	fileKey, envKey := p.key(name+"_file"), p.key(name+"_env")
	switch {
	case file != "" && env != "":
		r.add(envKey, "%s and %s are both set; use one", fileKey[len(fileKey)-1], envKey[len(envKey)-1])
		return "", nil, false
	case file == "" && env == "":
		r.add(fileKey, "is required (or %s)", envKey[len(envKey)-1])
		return "", nil, false
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			r.add(fileKey, "cannot read %q: %s", file, fileErrorText(err))
			return "", nil, false
		}
		s := strings.TrimRight(string(data), "\r\n")
		if s == "" {
			r.add(fileKey, "file %q is empty", file)
			return "", nil, false
		}
		return Secret(s), fileKey, true
	default:
		s, ok := os.LookupEnv(env)
		switch {
		case !ok:
			r.add(envKey, "environment variable %s is not set", env)
			return "", nil, false
		case s == "":
			r.add(envKey, "environment variable %s is empty", env)
			return "", nil, false
		}
		return Secret(s), envKey, true
	}
}

// fileErrorText describes why a file could not be read, the same on every
// platform for the common cases, and without repeating the path.
func fileErrorText(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
