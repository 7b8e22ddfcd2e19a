package workflow

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// ReplyPreview is the mail a reply would send.
type ReplyPreview struct {
	To      string
	Subject string
	Body    string
}

// PreviewReply renders the answer Reply would send for r, the same way,
// without storing or queueing anything.
func (d *Desk) PreviewReply(ref, by string, r ReplyRequest) (*ReplyPreview, error) {
	if d.Policy == nil || d.Policy.Templates == nil {
		return nil, errors.New("preview reply: no templates loaded")
	}
	tmpl := cmp.Or(r.Template, "antwoord")
	if !d.Policy.Templates.Has(tmpl) {
		return nil, inputErr("unknown template %q", tmpl)
	}
	var p *ReplyPreview
	err := d.Store.db.View(func(tx *bolt.Tx) error {
		t, err := ticketTx(tx, ref)
		if err != nil {
			return err
		}
		o := &op{tx: tx, p: d.Policy, t: t, now: d.Policy.now(), actor: by}
		data := o.data()
		data.Body = strings.TrimSpace(r.Body)
		if l := o.leaderName(by); l != "" {
			data.Leader = l
		}
		out, err := d.Policy.Templates.Render(tmpl, data)
		if err != nil {
			return err
		}
		subject := out.Subject
		if !strings.Contains(subject, t.Ref) {
			subject = "[" + t.Ref + "] " + subject
		}
		p = &ReplyPreview{To: t.Requester.Address, Subject: subject, Body: out.Body}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("preview reply on %s: %w", ref, err)
	}
	return p, nil
}
