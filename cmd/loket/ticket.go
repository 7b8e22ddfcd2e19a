package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/poraad/loket/templates"
	"github.com/poraad/loket/web"
	"github.com/poraad/loket/workflow"
)

const ticketUsage = `Usage: loket ticket ACTION REF ARGS... --config FILE [--by ADDRESS] [--json]

  show REF                                  state, allowed events, appointment, audit
  assign REF ADDRESS                        give the ticket to a project leader
  reply REF (--body TEXT | --body-file F | --template NAME) [--event answer|wait|close]
  note REF TEXT                             internal note, never mailed
  propose REF START/END... [--location L]   offer dates; START and END as
                                            2026-03-12T13:00 (Amsterdam) or RFC 3339
  schedule REF START END [--location L]     fix (or move) the appointment; sends an invite
  place REF SESSION                         place a registration in a session
  transition REF EVENT [--note N]           any other event: hold, close, cancel, wait, ...
  type REF TYPE                             correct the request type
`

// cmdTicket runs `loket ticket ACTION REF ...` against the API of a
// running Loket.
func cmdTicket(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, ticketUsage)
		return nil
	}
	action := args[0]
	fs := newFlagSet("ticket "+action, stderr)
	fs.Usage = func() { fmt.Fprint(stderr, ticketUsage) }
	cfgPath := fs.String("config", os.Getenv("LOKET_CONFIG"), "config file (TOML) of the running Loket; default $LOKET_CONFIG")
	by := fs.String("by", os.Getenv("LOKET_USER"), "who acts, for the audit log; default $LOKET_USER")
	asJSON := fs.Bool("json", false, "print the ticket as JSON")
	body := fs.String("body", "", "reply: the text")
	bodyFile := fs.String("body-file", "", "reply: a file with the text (- for stdin)")
	tmpl := fs.String("template", "", "reply: a template name instead of a text")
	event := fs.String("event", "", "reply: an event applied with it (answer, wait, close)")
	note := fs.String("note", "", "a note for the audit log")
	location := fs.String("location", "", "propose, schedule: where")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	need := func(n int, what string) error {
		if len(pos) != n {
			return usageError{fmt.Sprintf("loket ticket %s %s", action, what)}
		}
		return nil
	}
	if len(pos) == 0 {
		return usageError{"loket ticket " + action + ": REF is required"}
	}
	ref := strings.ToUpper(pos[0])
	path := "/api/v1/tickets/" + ref
	var method, sub = "POST", ""
	var in any
	switch action {
	case "show":
		method, err = "GET", need(1, "REF")
	case "assign":
		sub, in, err = "/assign", map[string]string{"to": at(pos, 1), "by": *by, "note": *note}, need(2, "REF ADDRESS")
	case "note":
		sub, in, err = "/note", map[string]string{"text": strings.Join(pos[1:], " "), "by": *by}, nil
	case "reply":
		text := *body
		if *bodyFile != "" {
			var b []byte
			if *bodyFile == "-" {
				b, err = io.ReadAll(os.Stdin)
			} else {
				b, err = os.ReadFile(*bodyFile)
			}
			if err != nil {
				return fmt.Errorf("read reply text: %w", err)
			}
			text = string(b)
		}
		sub, in, err = "/reply", map[string]string{"body": text, "template": *tmpl, "event": *event, "by": *by, "note": *note}, need(1, "REF (--body TEXT | --body-file F | --template NAME)")
	case "propose":
		var slots []workflow.Slot
		for _, p := range pos[1:] {
			s, e, ok := strings.Cut(p, "/")
			var slot workflow.Slot
			if !ok {
				return usageError{fmt.Sprintf("slot %q: write START/END", p)}
			}
			if slot.Start, err = parseWhen(s); err == nil {
				slot.End, err = parseWhen(e)
			}
			if err != nil {
				return usageError{err.Error()}
			}
			slots = append(slots, slot)
		}
		sub, in = "/propose", map[string]any{"slots": slots, "location": *location, "by": *by}
	case "schedule":
		if err = need(3, "REF START END"); err == nil {
			var s, e time.Time
			if s, err = parseWhen(pos[1]); err == nil {
				e, err = parseWhen(pos[2])
			}
			if err != nil {
				return usageError{err.Error()}
			}
			sub, in = "/schedule", map[string]any{"start": s, "end": e, "location": *location, "by": *by}
		}
	case "place":
		sub, in, err = "/place", map[string]string{"session": at(pos, 1), "by": *by}, need(2, "REF SESSION")
	case "transition":
		sub, in, err = "/transition", map[string]string{"event": at(pos, 1), "note": *note, "by": *by}, need(2, "REF EVENT")
	case "type":
		sub, in, err = "/type", map[string]string{"type": at(pos, 1), "note": *note, "by": *by}, need(2, "REF TYPE")
	default:
		fmt.Fprint(stderr, ticketUsage)
		return usageError{fmt.Sprintf("unknown ticket action %q", action)}
	}
	if err != nil {
		return err
	}
	c, err := newAPIClient(*cfgPath)
	if err != nil {
		return err
	}
	if err := c.do(ctx, method, path+sub, in, nil); err != nil {
		return err
	}
	var d web.TicketDetail
	var raw json.RawMessage
	if err := c.do(ctx, "GET", path, nil, &raw); err != nil {
		return err
	}
	if *asJSON {
		_, err := fmt.Fprintf(stdout, "%s\n", raw)
		return err
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("decode ticket %s: %w", ref, err)
	}
	printTicket(stdout, &d)
	return nil
}

// parseInterleaved parses flags that may stand before, between or after
// the positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

// parseWhen reads a date and time: RFC 3339, or without offset in
// Europe/Amsterdam ("2026-03-12T13:00", "2026-03-12 13:00").
func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	loc := templates.Amsterdam
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time such as 2026-03-12T13:00", s)
}

func printTicket(w io.Writer, d *web.TicketDetail) {
	fmt.Fprintf(w, "%s  %s  %s  %s\n", d.Ref, d.Type, d.State, d.Subject)
	fmt.Fprintf(w, "  requester: %s %s\n", d.RequesterName, d.RequesterAddress)
	if d.Assignee != "" {
		fmt.Fprintf(w, "  assignee:  %s %s\n", d.AssigneeName, d.Assignee)
	}
	events := make([]string, len(d.AllowedEvents))
	for i, e := range d.AllowedEvents {
		events[i] = string(e)
	}
	fmt.Fprintf(w, "  allowed:   %s\n", strings.Join(events, ", "))
	if a := d.Appointment; a != nil {
		fmt.Fprintf(w, "  appointment: %s – %s %s (%s, sequence %d)\n", a.Start.Format(time.RFC3339), a.End.Format("15:04"), a.Location, a.Status, a.Sequence)
	}
	if s := d.Suggestion; s != nil {
		fmt.Fprintf(w, "  suggestion: option %d (%s), from %q\n", s.Slot, s.Start.Format(time.RFC3339), s.Matched)
	}
	if d.Session != "" {
		fmt.Fprintf(w, "  session:   %s\n", d.Session)
	}
	n := len(d.Audit)
	for _, a := range d.Audit[max(0, n-5):] {
		fmt.Fprintf(w, "  %s  %-10s %s %s\n", a.At.Format("2006-01-02 15:04"), a.Action, a.Detail, a.Note)
	}
}
