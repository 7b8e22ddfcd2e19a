// Package app assembles a running Loket from its parts: the store, the
// pollers (one per mailbox), the classifier, the outbox sender and the HTTP
// server. cmd/loket's serve and demo commands both run it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/templates"
	"github.com/poraad/loket/web"
	"github.com/poraad/loket/workflow"
)

// Mailbox is one mailbox to poll and send from.
type Mailbox struct {
	intake.MailboxConfig
	DisplayName string
	Prior       intake.Type
}

// Options is everything Run needs; cmd/loket builds it from the config file.
type Options struct {
	StorePath          string
	Prefix             string
	Listen             string
	APIToken           string
	SMTP               workflow.SMTPConfig
	Confirm            bool
	PerRecipientPerDay int
	Guards             workflow.Guards // hourly cap, quiet time after a bounce
	TemplatesDir       string
	Mailboxes          []Mailbox
	Classifier         intake.ClassifierConfig
	// BackupDir, when set, gets a copy of the store every BackupInterval;
	// the newest BackupKeep are kept.
	BackupDir      string
	BackupInterval time.Duration
	BackupKeep     int
	// Settings configures leaders, sessions and timers; nil for none.
	// TimerInterval is how often timers are checked (default 1m).
	Settings      *workflow.Settings
	TimerInterval time.Duration
	// Alerts mails the operator about mailboxes that stop polling
	// (alert.go); RetentionMonths purges closed tickets' mail (retention.go).
	Alerts          AlertOptions
	RetentionMonths int
	// MemoryLimit, above 0, is Go's soft memory limit in bytes while Run
	// runs ([runtime] memory_limit; memory.go).
	MemoryLimit int64
	// GCPercent is Go's GOGC while Run or Import runs ([runtime]
	// gc_percent; memory.go): 0 means config.DefaultGCPercent.
	GCPercent int
	Log       *slog.Logger
	// Started, when set, is called once the HTTP server listens, with its
	// address and the running service.
	Started func(addr string, svc *Running)
}

// Running exposes the live parts, for the demo and tests.
type Running struct {
	Store   *workflow.Store
	Sender  *workflow.Sender
	Desk    *workflow.Desk
	Pollers map[string]*intake.Poller
	// Alerter takes problems of other parts (OAuth2 tokens): Problem and
	// Resolved. It is nil-safe and does nothing without [alerts] address.
	Alerter *Alerter
}

// Run runs Loket until ctx is done, then shuts down in order: stop taking
// HTTP requests, stop the pollers and the sender, close the store.
func Run(ctx context.Context, o Options) error {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	warnInsecureTLS(o, log) // tlswarn.go
	defer setMemoryLimit(o.MemoryLimit, log)()
	defer SetGCPercent(o.GCPercent, log)()
	tmpl, err := templates.Load(o.TemplatesDir)
	if err != nil {
		return fmt.Errorf("load templates: %w", err)
	}
	own := make([]string, 0, len(o.Mailboxes))
	mailboxes := map[string]workflow.MailboxInfo{}
	for _, m := range o.Mailboxes {
		addr := strings.ToLower(m.Address)
		own = append(own, addr)
		mailboxes[m.Name] = workflow.MailboxInfo{Name: m.Name, Address: addr, DisplayName: m.DisplayName, Prior: m.Prior}
	}
	ccfg := o.Classifier
	ccfg.Prefix = o.Prefix
	ccfg.OwnAddresses = append(ccfg.OwnAddresses, own...)
	classifier, err := intake.NewClassifier(ccfg)
	if err != nil {
		return fmt.Errorf("classifier: %w", err)
	}
	st, err := workflow.Open(o.StorePath)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()

	alerter := newAlerter(st, o, log.With("component", "alerts")) // alert.go; Kick set below
	smtpCfg := o.SMTP
	alerter.hookTokens(&smtpCfg.OnTokenError, &smtpCfg.OnTokenOK)
	sender := workflow.NewSender(st, smtpCfg, log.With("component", "sender"))
	alerter.Kick = sender.Kick
	mx := newMetrics() // metrics.go
	svc := &workflow.Service{
		Store: st, Classifier: classifier, Log: log.With("component", "intake"), Committed: sender.Kick, Observed: mx.observe,
		Policy: &workflow.Policy{Prefix: o.Prefix, Mailboxes: mailboxes, Templates: tmpl, Confirm: o.Confirm,
			PerRecipientPerDay: o.PerRecipientPerDay, Guards: o.Guards, OwnAddresses: own, Settings: o.Settings},
	}
	desk := &workflow.Desk{Store: st, Policy: svc.Policy, Kick: sender.Kick}
	run := &Running{Store: st, Sender: sender, Desk: desk, Pollers: map[string]*intake.Poller{}}
	health := map[string]web.Health{}
	for _, m := range o.Mailboxes {
		mc := m.MailboxConfig
		alerter.hookTokens(&mc.OnTokenError, &mc.OnTokenOK)
		p := intake.NewPoller(mc, svc, log.With("component", "poller"))
		run.Pollers[m.Name] = p
		interval := m.PollInterval
		if interval <= 0 {
			interval = time.Minute
		}
		health["mailbox:"+m.Name] = func() (bool, any) {
			return mailboxHealth(p.Status(), interval, time.Now())
		}
	}
	health["outbox"] = func() (bool, any) {
		s := sender.Status()
		pending, err := st.Outbox(true)
		if err != nil {
			return false, err.Error()
		}
		oldest := time.Duration(0)
		for _, e := range pending {
			if age := time.Since(e.Date); age > oldest {
				oldest = age
			}
		}
		return oldest < time.Hour, map[string]any{"status": s, "pending": len(pending), "oldest_pending": oldest.Round(time.Second).String()}
	}

	api := &web.API{Store: st, Token: o.APIToken, Log: log.With("component", "api"), Health: health, Desk: desk}
	deskUI, err := newDeskUI(st, desk, o, tmpl, log.With("component", "desk")) // desk.go
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Listen, err)
	}
	run.Alerter = alerter
	ops := newOps(mx, st, run.Pollers, o)
	srv := &http.Server{Handler: withOps(web.Mount(api, deskUI), mx.handler(log), ops), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http server: %w", err)
			cancel()
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = sender.Run(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		desk.RunTimers(ctx, o.TimerInterval, log.With("component", "timers"))
	}()
	if o.BackupDir != "" && o.BackupInterval > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scheduleBackups(ctx, st, o.BackupDir, o.BackupInterval, o.BackupKeep, log.With("component", "backup"))
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		run.Alerter.Watch(ctx, run.Pollers, time.Minute)
	}()
	if o.RetentionMonths > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scheduleRetention(ctx, st, o.RetentionMonths, log.With("component", "retention"))
		}()
	}
	for name, p := range run.Pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Run(ctx); err != nil {
				log.Error("poller stopped", "mailbox", name, "err", err)
			}
		}()
	}
	log.Info("loket running", "listen", ln.Addr().String(), "mailboxes", len(o.Mailboxes), "store", o.StorePath)
	if o.Started != nil {
		o.Started(ln.Addr().String(), run)
	}
	<-ctx.Done()
	log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}
