package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/poraad/loket/config"
	"github.com/poraad/loket/workflow"
)

// cmdBackup writes a consistent copy of the store to FILE: through the
// running server's API when serve holds the store, else from the store
// directly. The copy is checked before the command reports success.
func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", stderr)
	cfgPath := fs.String("config", "", "config file (TOML)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"backup: name the file to write: loket backup --config F FILE"}
	}
	dst := fs.Arg(0)
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	how := "via the running server"
	n, err := backupViaAPI(ctx, cfg, dst)
	if isUnreachable(err) {
		how = "from the store directly (server not running)"
		var st *workflow.Store
		if st, err = workflow.Open(cfg.Storage.Path); err == nil {
			n, err = st.BackupFile(dst)
			if cerr := st.Close(); err == nil {
				err = cerr
			}
		}
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	info, err := workflow.CheckBackup(dst)
	if err != nil {
		return fmt.Errorf("backup written but unusable: %w", err)
	}
	fmt.Fprintf(stdout, "%s: %d bytes, %d tickets, %d messages (%s)\n", dst, n, info.Tickets, info.Messages, how)
	return nil
}

func backupViaAPI(ctx context.Context, cfg *config.Config, dst string) (int64, error) {
	host, port, err := net.SplitHostPort(cfg.Web.Listen)
	if err != nil {
		return 0, err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+net.JoinHostPort(host, port)+"/api/v1/backup", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.API.Token.Reveal())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("server answered %s", resp.Status)
	}
	tmp := dst + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp)
	n, err := io.Copy(f, resp.Body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, err
	}
	if _, err := workflow.CheckBackup(tmp); err != nil {
		return n, err
	}
	return n, os.Rename(tmp, dst)
}

// cmdRestore checks a backup and puts it in place of the configured store.
func cmdRestore(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("restore", stderr)
	cfgPath := fs.String("config", "", "config file (TOML)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"restore: name the backup file: loket restore --config F FILE"}
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Storage.Path), 0o750); err != nil {
		return err
	}
	info, kept, err := workflow.Restore(fs.Arg(0), cfg.Storage.Path, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s to %s: %d tickets, %d messages\n", fs.Arg(0), cfg.Storage.Path, info.Tickets, info.Messages)
	if kept != "" {
		fmt.Fprintf(stdout, "the previous store is kept as %s\n", kept)
	}
	return nil
}
