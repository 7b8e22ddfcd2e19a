package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/poraad/loket/internal/app"
)

// cmdImport is `loket import --config F --mailbox NAME`: the mailbox's
// first start (its initial_sync) run offline with serve stopped, with a
// progress line on stderr.
func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", stderr)
	cfgPath := fs.String("config", "", "config file (TOML)")
	mailbox := fs.String("mailbox", "", "name of the [[mailbox]] to import")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *mailbox == "" || fs.NArg() != 0 {
		return usageError{"import: loket import --config F --mailbox NAME"}
	}
	cfg, o, err := loadOptions(*cfgPath)
	if err != nil {
		return err
	}
	o.Log = newLogger(stderr, slog.LevelWarn, cfg.Log.Format)
	m, ok := cfg.Mailbox(*mailbox)
	if !ok {
		return usageError{fmt.Sprintf("import: no [[mailbox]] named %q in %s", *mailbox, *cfgPath)}
	}
	fmt.Fprintf(stderr, "importing mailbox %s (initial_sync %q) into %s\n", m.Name, m.InitialSync, cfg.Storage.Path)
	pr, err := app.Import(ctx, o, *mailbox, time.Second, func(p app.ImportProgress) {
		fmt.Fprintf(stderr, "\r\033[K%s", p)
	})
	fmt.Fprintln(stderr)
	if err != nil {
		return fmt.Errorf("import %s: %w (run it again to carry on)", *mailbox, err)
	}
	fmt.Fprintf(stdout, "imported %d messages from mailbox %s in %s\n", pr.Handled, *mailbox, pr.Elapsed.Round(time.Millisecond))
	return nil
}
