package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/web"
	"github.com/poraad/loket/workflow"
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
	// Candidates are the best scoring request types (new requests).
	Candidates []intake.Candidate `json:"candidates,omitempty"`
	// Correction is a project leader's correction of the ticket that
	// holds this Message-ID (--explain with --config and a running serve).
	Correction *workflow.Correction `json:"correction,omitempty"`
	Problems   []string             `json:"problems,omitempty"`
	Error      string               `json:"error,omitempty"`
}

func cmdClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("classify", stderr)
	cfgPath := fs.String("config", "", "config file (for the ticket prefix, mailbox priors and extra terms); optional")
	mailbox := fs.String("mailbox", "", "mailbox the messages arrived in (e.g. praktijktoets)")
	asJSON := fs.Bool("json", false, "print one JSON object per file")
	explain := fs.Bool("explain", false, "print every reason with its weight, the best scoring types and, with --config, a project leader's correction")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{"classify: name one or more .eml files"}
	}
	ccfg := intake.ClassifierConfig{Prefix: "PO"}
	priors := map[string]intake.Type{"praktijktoets": intake.TypePraktijktoets}
	if *cfgPath != "" {
		_, opts, err := loadOptions(*cfgPath)
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
	// Corrections come from the running service; without it the
	// decision is still explained.
	var corrected map[string]workflow.Correction
	if *explain && *cfgPath != "" {
		var err error
		if corrected, err = correctionsByMessageID(ctx, *cfgPath); err != nil {
			fmt.Fprintf(stdout, "corrections not shown: %v\n\n", err)
		}
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
			out.Candidates = cl.Candidates
			if cl.Kind != intake.KindNew {
				out.Type = ""
			}
			if c, ok := corrected[strings.Trim(m.MessageID, "<>")]; ok {
				out.Correction = &c
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
		if *explain {
			if err := printExplain(stdout, &out); err != nil {
				return err
			}
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

// printExplain prints one file's decision for a person: the decision, every
// reason with its weight as a table, the best scoring types and a project
// leader's correction.
func printExplain(w io.Writer, o *classifyOutput) error {
	fmt.Fprintf(w, "%s\n", o.File)
	decision := string(o.Kind)
	if o.Kind == intake.KindNew {
		decision += " " + string(o.Type)
	}
	if o.TicketRef != "" {
		decision += " " + o.TicketRef
	}
	fmt.Fprintf(w, "  decision:  %s (confidence %.2f)\n", decision, o.Confidence)
	fmt.Fprintf(w, "  subject:   %s\n", o.Subject)
	from := o.From
	if o.FromName != "" {
		from = o.FromName + " <" + o.From + ">"
	}
	fmt.Fprintf(w, "  from:      %s\n", from)
	if o.Requester != "" && o.Requester != o.From {
		fmt.Fprintf(w, "  requester: %s\n", o.Requester)
	}
	fmt.Fprintf(w, "  org:       %s\n  phone:     %s\n", orDash(o.Org), orDash(o.Phone))
	if len(o.Candidates) > 0 {
		parts := make([]string, 0, len(o.Candidates))
		for _, c := range o.Candidates {
			parts = append(parts, fmt.Sprintf("%s %.2f (confidence %.2f)", c.Type, c.Score, c.Confidence))
		}
		fmt.Fprintf(w, "  scores:    %s\n", strings.Join(parts, " · "))
	}
	if c := o.Correction; c != nil {
		by := c.By
		if by == "" {
			by = "onbekend"
		}
		fmt.Fprintf(w, "  %s: gecorrigeerd door %s op %s: %s → %s\n", c.Ref, by, c.At.Local().Format("2006-01-02 15:04"), orDash(string(c.From)), c.To)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  rule\t weight\tdetail")
	for _, r := range o.Reasons {
		weight := ""
		if r.Weight != 0 {
			weight = fmt.Sprintf("%.2f", r.Weight)
		}
		fmt.Fprintf(tw, "  %s\t%7s\t%s\n", r.Rule, weight, r.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w)
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// correctionsByMessageID asks the running service for every type
// correction and the Message-IDs of each corrected ticket.
func correctionsByMessageID(ctx context.Context, cfgPath string) (map[string]workflow.Correction, error) {
	api, err := newAPIClient(cfgPath)
	if err != nil {
		return nil, err
	}
	var cs struct {
		Corrections []workflow.Correction `json:"corrections"`
	}
	if err := api.do(ctx, "GET", "/api/v1/corrections", nil, &cs); err != nil {
		if isUnreachable(err) {
			return nil, fmt.Errorf("the API at %s does not answer (is loket serve running?)", api.base)
		}
		return nil, err
	}
	out := make(map[string]workflow.Correction)
	for _, c := range cs.Corrections {
		var t web.TicketDetail
		if err := api.do(ctx, "GET", "/api/v1/tickets/"+c.Ref, nil, &t); err != nil {
			return out, err
		}
		for _, id := range t.MessageIDs {
			out[strings.Trim(id, "<>")] = c
		}
	}
	return out, nil
}
