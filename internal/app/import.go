package app

// import.go is `loket import`: a mailbox's first start run offline, with
// serve stopped, showing how far it is. It works exactly as the poller of
// serve would (the same InitialSync, cursor and transactions), so it can be
// stopped at any point and serve, or another import, carries on.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/templates"
	"github.com/poraad/loket/workflow"
)

// ImportProgress is a snapshot of an import.
type ImportProgress struct {
	Handled  int64         // messages stored so far
	Elapsed  time.Duration // since the start
	LastUID  uint32        // the cursor
	UntilUID uint32        // the backlog's last UID; 0 when unknown
	FirstUID uint32        // the cursor at the start
	Done     bool
}

// Rate is messages per second so far.
func (p ImportProgress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Handled) / p.Elapsed.Seconds()
}

// ETA estimates the time left from the share of the backlog's UIDs
// covered; 0 when unknown.
func (p ImportProgress) ETA() time.Duration {
	if p.UntilUID <= p.FirstUID || p.LastUID <= p.FirstUID || p.LastUID >= p.UntilUID {
		return 0
	}
	done := float64(p.LastUID-p.FirstUID) / float64(p.UntilUID-p.FirstUID)
	return time.Duration(float64(p.Elapsed) * (1 - done) / done).Round(time.Second)
}

// String is the progress line.
func (p ImportProgress) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d messages, %.0f/s", p.Handled, p.Rate())
	if p.UntilUID > 0 {
		fmt.Fprintf(&b, ", UID %d of %d", p.LastUID, p.UntilUID)
	}
	if eta := p.ETA(); eta > 0 && !p.Done {
		fmt.Fprintf(&b, ", about %s left", eta)
	}
	if p.Done {
		fmt.Fprintf(&b, ", done in %s", p.Elapsed.Round(time.Millisecond))
	}
	return b.String()
}

// Import runs the first start of one mailbox of o offline: it fetches
// what the cursor and the mailbox's InitialSync say, stores it, and returns
// after the first complete pass. progress, when set, is called about every
// interval and once at the end. Mail it queues (InitialSync "import") is
// sent by serve.
func Import(ctx context.Context, o Options, mailbox string, interval time.Duration, progress func(ImportProgress)) (ImportProgress, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	defer setMemoryLimit(o.MemoryLimit, log)()
	defer SetGCPercent(o.GCPercent, log)()
	var mb *Mailbox
	own := make([]string, 0, len(o.Mailboxes))
	mailboxes := map[string]workflow.MailboxInfo{}
	for i, m := range o.Mailboxes {
		addr := strings.ToLower(m.Address)
		own = append(own, addr)
		mailboxes[m.Name] = workflow.MailboxInfo{Name: m.Name, Address: addr, DisplayName: m.DisplayName, Prior: m.Prior}
		if m.Name == mailbox {
			mb = &o.Mailboxes[i]
		}
	}
	if mb == nil {
		return ImportProgress{}, fmt.Errorf("no mailbox %q in the configuration", mailbox)
	}
	tmpl, err := templates.Load(o.TemplatesDir)
	if err != nil {
		return ImportProgress{}, fmt.Errorf("load templates: %w", err)
	}
	ccfg := o.Classifier
	ccfg.Prefix = o.Prefix
	ccfg.OwnAddresses = append(ccfg.OwnAddresses, own...)
	classifier, err := intake.NewClassifier(ccfg)
	if err != nil {
		return ImportProgress{}, fmt.Errorf("classifier: %w", err)
	}
	st, err := workflow.Open(o.StorePath)
	if err != nil {
		return ImportProgress{}, err
	}
	defer st.Close()
	svc := &workflow.Service{
		Store: st, Classifier: classifier, Log: log.With("component", "intake"),
		Policy: &workflow.Policy{Prefix: o.Prefix, Mailboxes: mailboxes, Templates: tmpl, Confirm: o.Confirm,
			PerRecipientPerDay: o.PerRecipientPerDay, Guards: o.Guards, OwnAddresses: own, Settings: o.Settings},
	}
	first, err := st.Cursor(mailbox)
	if err != nil {
		return ImportProgress{}, err
	}
	p := intake.NewPoller(mb.MailboxConfig, svc, log.With("component", "poller"))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()

	start := time.Now()
	snapshot := func(done bool) ImportProgress {
		s := p.Status()
		pr := ImportProgress{Handled: s.Handled, Elapsed: time.Since(start), LastUID: s.Cursor.LastUID,
			FirstUID: first.LastUID, Done: done}
		if c, err := svc.Cursor(ctx, mailbox); err == nil {
			pr.UntilUID = c.BacklogUntil
		}
		return pr
	}
	// Look often, report every interval.
	tick := time.NewTicker(min(interval, 100*time.Millisecond))
	defer tick.Stop()
	reported := start
	for {
		select {
		case <-ctx.Done():
			return snapshot(false), ctx.Err()
		case err := <-errc:
			if err == nil {
				err = errors.New("poller stopped")
			}
			return snapshot(false), err
		case <-tick.C:
		}
		s := p.Status()
		if !s.LastPoll.IsZero() {
			pr := snapshot(true)
			if progress != nil {
				progress(pr)
			}
			return pr, nil
		}
		if s.LastError != "" && s.Failures >= 3 {
			return snapshot(false), fmt.Errorf("mailbox %s: %s", mailbox, s.LastError)
		}
		if progress != nil && time.Since(reported) >= interval {
			reported = time.Now()
			progress(snapshot(false))
		}
	}
}
