package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/web"
	"github.com/poraad/loket/workflow"
)

// cmdRules runs `loket rules suggest`: it reads the type corrections and
// the tickets of a running service through its API and prints the terms
// that set the corrected tickets apart, as TOML for [classification.terms].
func cmdRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "suggest" {
		return usageError{"rules: usage: loket rules suggest --config FILE [--min N]"}
	}
	fs := newFlagSet("rules suggest", stderr)
	cfgPath := fs.String("config", "", "config file of the running service (TOML)")
	minCount := fs.Int("min", 2, "a term must occur in at least this many corrected tickets of a type")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("rules suggest: unexpected argument %q", fs.Arg(0))}
	}
	_, opts, err := loadOptions(*cfgPath)
	if err != nil {
		return err
	}
	// The configured classifier, so that terms the operator has adopted
	// already are not suggested again.
	c, err := intake.NewClassifier(opts.Classifier)
	if err != nil {
		return fmt.Errorf("classifier: %w", err)
	}
	api, err := newAPIClient(*cfgPath)
	if err != nil {
		return err
	}

	var cs struct {
		Corrections []workflow.Correction `json:"corrections"`
	}
	if err := api.do(ctx, "GET", "/api/v1/corrections", nil, &cs); err != nil {
		return fmt.Errorf("read corrections: %w", err)
	}
	if len(cs.Corrections) == 0 {
		fmt.Fprintln(stdout, "# no type corrections yet: nothing to suggest")
		return nil
	}
	corrections := make(map[string]workflow.Correction, len(cs.Corrections))
	for _, c := range cs.Corrections {
		corrections[c.Ref] = c
	}
	var list []web.TicketListItem
	for cursor := ""; ; {
		var page web.TicketList
		if err := api.do(ctx, "GET", "/api/v1/tickets?limit=1000&cursor="+url.QueryEscape(cursor), nil, &page); err != nil {
			return fmt.Errorf("list tickets: %w", err)
		}
		list = append(list, page.Tickets...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	docs := make([]intake.TermDoc, 0, len(list))
	from := make(map[intake.Type]map[intake.Type]int) // corrected type -> original type -> count
	for _, ts := range list {
		var t web.TicketDetail
		if err := api.do(ctx, "GET", "/api/v1/tickets/"+ts.Ref, nil, &t); err != nil {
			return fmt.Errorf("read ticket %s: %w", ts.Ref, err)
		}
		corr, corrected := corrections[t.Ref]
		m := requestMessage(&t, corr.MessageSeq)
		if m == nil {
			continue // a ticket without a readable request
		}
		corrected = corrected && corr.To == t.Type
		docs = append(docs, intake.TermDoc{Type: t.Type, Corrected: corrected, Terms: intake.Terms(m.Subject, m.Text)})
		if corrected {
			if from[t.Type] == nil {
				from[t.Type] = make(map[intake.Type]int)
			}
			from[t.Type][corr.From]++
		}
	}
	return printSuggestions(stdout, c.SuggestTerms(docs, *minCount), from, len(docs), *minCount)
}

// requestMessage returns the inbound message that was classified: the
// correction's message, else the ticket's first inbound message.
func requestMessage(t *web.TicketDetail, seq uint64) *intake.Message {
	var first *intake.Message
	for _, mv := range t.Messages {
		if mv.Direction != workflow.DirIn || mv.Message == nil {
			continue
		}
		if seq != 0 && mv.Seq == seq {
			return mv.Message
		}
		if first == nil {
			first = mv.Message
		}
	}
	return first
}

// printSuggestions writes the suggestions as a [classification.terms]
// table that can be pasted into the config, each term with its counts.
func printSuggestions(w io.Writer, sugg []intake.Suggestion, from map[intake.Type]map[intake.Type]int, tickets, minCount int) error {
	corrected := 0
	for _, m := range from {
		for _, n := range m {
			corrected += n
		}
	}
	fmt.Fprintf(w, "# Terms that set corrected tickets apart: %d corrected of %d tickets read,\n", corrected, tickets)
	fmt.Fprintf(w, "# each in at least %d corrected tickets of its type. Check each one before\n", minCount)
	fmt.Fprintln(w, "# adopting it; merge with a type's list when your config has one already.")
	fmt.Fprintln(w, "[classification.terms]")
	for _, t := range intake.Types {
		if len(from[t]) == 0 {
			continue
		}
		var orig []string
		for _, o := range slices.Sorted(maps.Keys(from[t])) {
			name := string(o)
			if name == "" {
				name = "(none)"
			}
			orig = append(orig, fmt.Sprintf("%s %d", name, from[t][o]))
		}
		n := 0
		for _, s := range sugg {
			if s.Type == t {
				n++
			}
		}
		fmt.Fprintf(w, "\n# %s: %d corrected (from %s)\n", t, sumCounts(from[t]), strings.Join(orig, ", "))
		if n == 0 {
			fmt.Fprintf(w, "# no term occurs in %d or more of them notably more often than elsewhere\n", minCount)
			continue
		}
		fmt.Fprintf(w, "%s = [\n", tomlKey(string(t)))
		for _, s := range sugg {
			if s.Type != t {
				continue
			}
			fmt.Fprintf(w, "  { phrase = %s, weight = %s },  # in %d of %d corrected, %d of %d other tickets; log-odds %.2f\n",
				strconv.Quote(s.Phrase), strconv.FormatFloat(s.Weight, 'f', 1, 64), s.In, s.InN, s.Out, s.OutN, s.LogOdds)
		}
		fmt.Fprintln(w, "]")
	}
	return nil
}

func sumCounts(m map[intake.Type]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// tomlKey quotes a key that is not a bare TOML key ("opp-bijeenkomst" is).
func tomlKey(k string) string {
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return strconv.Quote(k)
		}
	}
	return k
}
