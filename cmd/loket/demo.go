package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/internal/app"
	"github.com/poraad/loket/internal/mailtest"
	"github.com/poraad/loket/workflow"
)

//go:embed demodata/*.eml
var demoMail embed.FS

var demoMailboxes = []struct{ name, address, display string }{
	{"ondersteuning", "ondersteuningpassendonderwijs@poraad.nl", "Ondersteuning Passend onderwijs"},
	{"praktijktoets", "praktijktoets@ondersteuningpassendonderwijs.nl", "Praktijktoets Passend onderwijs"},
}

// cmdDemo runs the whole service against go-imap's in-memory IMAP server and
// an in-process SMTP server, both on loopback, seeded with the project's own
// sample mail. Nothing leaves the machine.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address of the web server and API")
	dataDir := fs.String("data", "", "folder for the demo database (default: a new temporary folder)")
	runFor := fs.Duration("for", 0, "stop after this long (default: until Ctrl-C)")
	verbose := fs.Bool("v", false, "log every step")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *runFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *runFor)
		defer cancel()
	}
	dir := *dataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "loket-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := newLogger(stderr, level, "text")

	users := map[string]string{}
	for _, m := range demoMailboxes {
		users[m.name] = "demo"
	}
	imapSrv, err := mailtest.StartIMAP(users)
	if err != nil {
		return fmt.Errorf("start demo IMAP server: %w", err)
	}
	defer imapSrv.Close()
	smtpSrv, err := mailtest.StartSMTP()
	if err != nil {
		return fmt.Errorf("start demo SMTP server: %w", err)
	}
	defer smtpSrv.Close()

	seeded, err := seedDemo(imapSrv)
	if err != nil {
		return err
	}
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])

	o := app.Options{
		StorePath: filepath.Join(dir, "loket.db"), Prefix: "PO", Listen: *listen, APIToken: token,
		SMTP:    workflow.SMTPConfig{Host: "127.0.0.1", Port: smtpSrv.Port(), TLS: "none", Timeout: 10 * time.Second, RetryBase: time.Second},
		Confirm: true, PerRecipientPerDay: 5, Log: log,
	}
	for _, m := range demoMailboxes {
		mb := app.Mailbox{MailboxConfig: intake.MailboxConfig{Name: m.name, Address: m.address, Host: "127.0.0.1",
			Port: imapSrv.Port(), TLS: "none", Username: m.name, Password: "demo", PollInterval: 10 * time.Second,
			// The seeded sample mail is there before the start and must be
			// confirmed, as new mail is.
			InitialSync: intake.InitialSyncImport},
			DisplayName: m.display}
		if m.name == "praktijktoets" {
			mb.Prior = intake.TypePraktijktoets
		}
		o.Mailboxes = append(o.Mailboxes, mb)
	}
	var once sync.Once
	o.Started = func(addr string, run *app.Running) {
		once.Do(func() {
			demoDeskLogin(stdout, addr, run.Store, log) // demo_desk.go
			fmt.Fprintf(stdout, `Loket demo
  IMAP (in memory)  %s  mailboxes ondersteuning, praktijktoets (password "demo"), %d sample mails
  SMTP (capture)    %s
  store             %s
  API               http://%s/api/v1/tickets
  token             %s

Try:
  curl -s -H 'Authorization: Bearer %s' http://%s/api/v1/tickets
  curl -s -H 'Authorization: Bearer %s' http://%s/api/v1/unmatched
  curl -s http://%s/healthz

Mail sent by Loket appears below. Ctrl-C stops the demo.

`, imapSrv.Addr(), seeded, smtpSrv.Addr(), o.StorePath, addr, token, token, addr, token, addr, addr)
			go watchDemo(ctx, stdout, imapSrv, smtpSrv, run)
		})
	}
	return app.Run(ctx, o)
}

func seedDemo(srv *mailtest.IMAPServer) (int, error) {
	entries, err := demoMail.ReadDir("demodata")
	if err != nil {
		return 0, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		raw, err := demoMail.ReadFile("demodata/" + name)
		if err != nil {
			return 0, err
		}
		user, _, _ := strings.Cut(name, "-")
		if err := srv.Append(user, "INBOX", raw); err != nil {
			return 0, fmt.Errorf("seed %s: %w", name, err)
		}
	}
	return len(names), nil
}

// watchDemo prints each mail the SMTP server receives and, once the first
// confirmation went out, lets its requester answer it, to show a follow-up
// landing on its ticket.
func watchDemo(ctx context.Context, w io.Writer, imapSrv *mailtest.IMAPServer, smtpSrv *mailtest.SMTPServer, run *app.Running) {
	seen := 0
	replied := false
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		msgs := smtpSrv.Messages()
		for _, m := range msgs[seen:] {
			parsed := intake.Parse(m.Data)
			fmt.Fprintf(w, "  sent  %-45s → %s\n        %s\n", parsed.From.Address, strings.Join(m.To, ", "), parsed.Subject)
		}
		seen = len(msgs)
		if !replied && seen > 0 {
			replied = true
			first := intake.Parse(msgs[0].Data)
			reply := fmt.Sprintf("Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nSubject: Re: %s\r\nMessage-ID: <demo-reply-%d@demo.example>\r\nIn-Reply-To: <%s>\r\nReferences: <%s>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDank u wel! Wij kunnen ook op donderdag.\r\n",
				time.Now().Format(time.RFC1123Z), msgs[0].To[0], first.From.Address, first.Subject, time.Now().UnixNano(), first.MessageID, first.MessageID)
			user := "ondersteuning"
			if strings.HasPrefix(first.From.Address, "praktijktoets") {
				user = "praktijktoets"
			}
			if err := imapSrv.Append(user, "INBOX", []byte(reply)); err == nil {
				fmt.Fprintf(w, "  demo: %s answers the confirmation; watch it join its ticket\n", msgs[0].To[0])
			}
			go func() {
				// Report the tickets once things have settled.
				select {
				case <-ctx.Done():
					return
				case <-time.After(3 * time.Second):
				}
				tickets, err := run.Store.Tickets(workflow.Filter{})
				if err != nil {
					return
				}
				fmt.Fprintf(w, "\n  %d tickets:\n", len(tickets))
				for _, t := range tickets {
					fmt.Fprintf(w, "  %s  %-22s %-13s %-14s %d berichten  %s\n", t.Ref, t.Type, t.State, t.Mailbox, len(t.Messages), t.Requester.Address)
				}
				un, _ := run.Store.Unmatched()
				fmt.Fprintf(w, "  %d unmatched (auto-replies and bounces without a ticket)\n\n", len(un))
			}()
		}
	}
}
