package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/poraad/loket/config"
	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/internal/app"
	"github.com/poraad/loket/workflow"
)

// loadOptions loads and checks a config file and turns it into the options
// of a running Loket: what serve, check-config, import, classify and rules
// all start from.
func loadOptions(path string) (*config.Config, app.Options, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, app.Options{}, err
	}
	o, err := optionsFromConfig(cfg)
	if err != nil {
		return nil, app.Options{}, err
	}
	return cfg, o, nil
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return nil, usageError{"--config FILE is required"}
	}
	return config.Load(path)
}

// optionsFromConfig turns a checked configuration into the options of a
// running Loket.
func optionsFromConfig(c *config.Config) (app.Options, error) {
	o := app.Options{
		StorePath: c.Storage.Path,
		Prefix:    c.Tickets.Prefix,
		Listen:    c.Web.Listen,
		APIToken:  c.API.Token.Reveal(),
		SMTP: workflow.SMTPConfig{
			Host: c.SMTP.Host, Port: c.SMTP.Port, TLS: string(c.SMTP.TLS),
			Username: c.SMTP.Username, Password: c.SMTP.Password.Reveal(),
			Timeout: c.SMTP.Timeout.Duration, MaxAttempts: c.SMTP.MaxAttempts, RetryBase: c.SMTP.RetryBase.Duration,
			MaxConnections: c.SMTP.MaxConnections, TLSConfig: tlsConfig(c.SMTP.Host, c.SMTP.TLSInsecureSkipVerify),
		},
		Confirm:            c.Confirmations.Enabled,
		PerRecipientPerDay: c.Confirmations.PerSenderPerDay,
		Guards:             workflow.Guards{PerRecipientPerHour: c.Confirmations.PerSenderPerHour, BounceQuiet: c.Confirmations.BounceQuiet.Duration},
		TemplatesDir:       c.Confirmations.TemplatesDir,
		Classifier:         intake.ClassifierConfig{Threshold: c.Classification.Threshold},
		BackupDir:          c.Backup.Dir,
		BackupInterval:     c.Backup.Interval.Duration,
		BackupKeep:         c.Backup.Keep,
		Alerts: app.AlertOptions{Address: c.Alerts.Address, NoPollAfter: c.Alerts.NoPollAfter.Duration,
			MinInterval: c.Alerts.MinInterval.Duration},
		RetentionMonths: c.Retention.MonthsAfterClose,
		MemoryLimit:     c.Runtime.MemoryLimit.Bytes(),
		GCPercent:       c.Runtime.GCPercent,
	}
	if c.Confirmations.PerSenderPerDay == 0 || c.Confirmations.PerSenderPerHour == 0 {
		// 0 in the file means "send none": the policy's 0 means "no limit".
		o.Confirm = false
	}
	if len(c.Classification.Terms) > 0 {
		o.Classifier.ExtraTerms = map[intake.Type][]intake.Term{}
		for typ, terms := range c.Classification.Terms {
			for _, t := range terms {
				o.Classifier.ExtraTerms[intake.Type(typ)] = append(o.Classifier.ExtraTerms[intake.Type(typ)], intake.Term{Phrase: t.Phrase, Weight: t.Weight})
			}
		}
	}
	o.Settings, o.TimerInterval = deskSettings(c), c.Timers.Interval.Duration
	for _, m := range c.Mailboxes {
		o.Mailboxes = append(o.Mailboxes, app.Mailbox{
			MailboxConfig: intake.MailboxConfig{
				Name: m.Name, Address: strings.ToLower(m.Address), Host: m.Host, Port: m.Port, TLS: string(m.TLS),
				Username: m.Username, Password: m.Password.Reveal(), Folder: m.Folder, ProcessedFolder: m.ProcessedFolder,
				MaxMessageSize: c.Intake.MaxMessageSize.Bytes(), PollInterval: c.Intake.PollInterval.Duration,
				BatchSize: c.Intake.BatchSize, InitialSync: m.InitialSync, IdleRecheck: c.Intake.IdleRecheck.Duration,
				TLSConfig: tlsConfig(m.Host, m.TLSInsecureSkipVerify),
			},
			DisplayName: m.DisplayName,
			Prior:       intake.Type(m.TypePrior),
		})
	}
	if err := addTokenSources(c, &o); err != nil {
		return app.Options{}, err
	}
	return o, nil
}

func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	cfgPath := fs.String("config", "", "config file (TOML)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, o, err := loadOptions(*cfgPath)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Log.SlogLevel(), cfg.Log.Format)
	log.Info("starting loket", "version", version, "config", cfg)
	o.Log = log
	return app.Run(ctx, o)
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check-config", stderr)
	cfgPath := fs.String("config", "", "config file (TOML)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, _, err := loadOptions(*cfgPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d mailboxes: ", *cfgPath, len(cfg.Mailboxes))
	for i, m := range cfg.Mailboxes {
		if i > 0 {
			fmt.Fprint(stdout, ", ")
		}
		fmt.Fprintf(stdout, "%s <%s> at %s:%d", m.Name, m.Address, m.Host, m.Port)
	}
	fmt.Fprintln(stdout, ")")
	return nil
}
