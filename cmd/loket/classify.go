package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/poraad/loket/intake"
)

// classifyOutput is one line of `loket classify --json`.
type classifyOutput struct {
	File       string          `json:"file"`
	MessageID  string          `json:"message_id"`
	From       string          `json:"from"`
	FromName   string          `json:"from_name,omitempty"`
	Subject    string          `json:"subject"`
	Date       string          `json:"date"`
	Kind       intake.Kind     `json:"kind"`
	Type       intake.Type     `json:"type"`
	TicketRef  string          `json:"ticket_ref"`
	Org        string          `json:"org"`
	Phone      string          `json:"phone"`
	Requester  string          `json:"requester"`
	Confidence float64         `json:"confidence"`
	Text       string          `json:"text"`
	Reasons    []intake.Reason `json:"reasons"`
	Problems   []string        `json:"problems,omitempty"`
	Error      string          `json:"error,omitempty"`
}

func cmdClassify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("classify", stderr)
	cfgPath := fs.String("config", "", "config file (for the ticket prefix, mailbox priors and extra terms); optional")
	mailbox := fs.String("mailbox", "", "mailbox the messages arrived in (e.g. praktijktoets)")
	asJSON := fs.Bool("json", false, "print one JSON object per file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{"classify: name one or more .eml files"}
	}
	ccfg := intake.ClassifierConfig{Prefix: "PO"}
	priors := map[string]intake.Type{"praktijktoets": intake.TypePraktijktoets}
	if *cfgPath != "" {
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		opts, err := optionsFromConfig(cfg)
		if err != nil {
			return err
		}
		ccfg = opts.Classifier
		ccfg.Prefix = opts.Prefix
		priors = map[string]intake.Type{}
		for _, m := range opts.Mailboxes {
			priors[m.Name] = m.Prior
			ccfg.OwnAddresses = append(ccfg.OwnAddresses, m.Address)
		}
	}
	c, err := intake.NewClassifier(ccfg)
	if err != nil {
		return fmt.Errorf("classifier: %w", err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	failed := 0
	for _, file := range fs.Args() {
		out := classifyOutput{File: file, Reasons: []intake.Reason{}}
		raw, err := os.ReadFile(file)
		if err != nil {
			failed++
			out.Error = err.Error()
		} else {
			m := intake.Parse(raw)
			cl := c.Classify(m, priors[*mailbox], nil)
			out.MessageID, out.From, out.FromName, out.Subject = m.MessageID, m.From.Address, m.From.Name, m.Subject
			if !m.Date.IsZero() {
				out.Date = m.Date.Format(time.RFC3339)
			}
			out.Kind, out.Type, out.TicketRef = cl.Kind, cl.Type, cl.TicketRef
			out.Org, out.Phone, out.Requester, out.Confidence = cl.Org, cl.Phone, cl.Requester.Address, cl.Confidence
			out.Text, out.Reasons, out.Problems = m.Text, cl.Reasons, m.Problems
			if cl.Kind != intake.KindNew {
				out.Type = ""
			}
		}
		if *asJSON {
			if err := enc.Encode(out); err != nil {
				return err
			}
			continue
		}
		if out.Error != "" {
			fmt.Fprintf(stdout, "%s: error: %s\n", file, out.Error)
			continue
		}
		fmt.Fprintf(stdout, "%s: %s %s (%.2f) ref=%s org=%q phone=%q\n  %q\n", file, out.Kind, out.Type, out.Confidence, out.TicketRef, out.Org, out.Phone, out.Subject)
		for _, r := range out.Reasons {
			fmt.Fprintf(stdout, "    %-40s %6.2f  %s\n", r.Rule, r.Weight, r.Detail)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files could not be read", failed, fs.NArg())
	}
	return nil
}
