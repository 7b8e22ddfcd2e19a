package app

import (
	"fmt"
	"log/slog"

	"github.com/poraad/loket/templates"
	"github.com/poraad/loket/web"
	"github.com/poraad/loket/workflow"
)

// newDeskUI makes the project leaders' web desk, served on the same
// listener as the API, and starts building the queue index so that the
// first page is fast.
func newDeskUI(st *workflow.Store, actions *workflow.Desk, o Options, tmpl *templates.Set, log *slog.Logger) (*web.Desk, error) {
	do := web.DeskOptions{Store: st, Actions: actions, Templates: tmpl.Names(), Log: log}
	for _, m := range o.Mailboxes {
		do.Mailboxes = append(do.Mailboxes, m.Name)
	}
	if s := o.Settings; s != nil {
		do.BaseURL, do.Leaders = s.BaseURL, s.Leaders
	}
	d, err := web.NewDesk(do)
	if err != nil {
		return nil, fmt.Errorf("desk: %w", err)
	}
	go func() {
		if err := st.WarmIndex(); err != nil {
			log.Error("build queue index", "err", err)
		}
	}()
	return d, nil
}
