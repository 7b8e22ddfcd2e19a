package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/poraad/loket/workflow"
)

// cmdExport writes everything held about an address as JSON to stdout
// (AVG right of access): through the running server's API when serve holds
// the store, else from the store directly.
func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", stderr)
	cfgPath := fs.String("config", "", "config file (TOML)")
	addr := fs.String("address", "", "the e-mail address whose data to export")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*addr) == "" {
		return usageError{"export: --address is required: loket export --config F --address a@b.nl"}
	}
	c, err := newAPIClient(*cfgPath)
	if err != nil {
		return err
	}
	var ex json.RawMessage
	err = c.do(ctx, "GET", "/api/v1/privacy/export?address="+url.QueryEscape(*addr), nil, &ex)
	if isUnreachable(err) {
		err = withStore(*cfgPath, func(st *workflow.Store) error {
			e, err := st.ExportAddress(*addr, time.Now())
			if err == nil {
				ex, err = json.Marshal(e)
			}
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	var v any
	if err := json.Unmarshal(ex, &v); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// cmdForget erases an address (AVG right to erasure); tickets still open
// are refused unless --force.
func cmdForget(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("forget", stderr)
	cfgPath := fs.String("config", "", "config file (TOML)")
	addr := fs.String("address", "", "the e-mail address to erase")
	force := fs.Bool("force", false, "also erase tickets that are still open")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*addr) == "" {
		return usageError{"forget: --address is required: loket forget --config F --address a@b.nl [--force]"}
	}
	c, err := newAPIClient(*cfgPath)
	if err != nil {
		return err
	}
	by := "cli"
	if u := os.Getenv("USER"); u != "" {
		by = "cli:" + u
	}
	var res workflow.PurgeResult
	err = c.do(ctx, "POST", "/api/v1/privacy/forget", map[string]any{"address": *addr, "force": *force, "by": by}, &res)
	if isUnreachable(err) {
		err = withStore(*cfgPath, func(st *workflow.Store) error {
			res, err = st.ForgetAddress(*addr, *force, by, time.Now())
			return err
		})
	}
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		return fmt.Errorf("forget: %s", ae.Message)
	}
	if err != nil {
		return fmt.Errorf("forget: %w", err)
	}
	fmt.Fprintf(stdout, "%s: erased from %d ticket(s) (%s), %d message(s)\n", *addr, res.Tickets, strings.Join(res.Refs, ", "), res.Messages)
	return nil
}

// withStore opens the configured store, runs fn and closes it.
func withStore(cfgPath string, fn func(*workflow.Store) error) error {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	st, err := workflow.Open(cfg.Storage.Path)
	if err != nil {
		return err
	}
	err = fn(st)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return err
}
