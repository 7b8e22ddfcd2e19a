package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/workflow"
)

type unmatchedData struct {
	page
	Items []unmatchedItem
}

type unmatchedItem struct {
	Seq      uint64
	Kind     string
	Mailbox  string
	Received time.Time
	From     string
	Subject  string
	Excerpt  string
	Reasons  []intake.Reason
	Guess    string // a ticket reference the message names, if any
}

func (d *Desk) unmatched(w http.ResponseWriter, r *http.Request) {
	d.showUnmatched(w, r, http.StatusOK, "")
}

func (d *Desk) showUnmatched(w http.ResponseWriter, r *http.Request, status int, msg string) {
	recs, err := d.o.Store.Unmatched()
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data := unmatchedData{page: d.base(r, "Losse berichten", "unmatched")}
	data.Error = msg
	for _, rec := range recs {
		m := rec.Message
		if m == nil {
			m = &intake.Message{}
		}
		it := unmatchedItem{Seq: rec.Seq, Mailbox: rec.Mailbox, Received: rec.Received, Subject: m.Subject,
			From: joinNonEmpty(" ", m.From.Name, angle(m.From.Address)), Excerpt: excerpt(m.Text, 400)}
		if rec.Class != nil {
			it.Kind, it.Reasons, it.Guess = kindLabel(rec.Class.Kind), rec.Class.Reasons, rec.Class.TicketRef
		}
		data.Items = append(data.Items, it)
	}
	d.render(w, r, status, "unmatched", data)
}

// excerpt returns the first n runes of text, on one line.
func excerpt(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > n {
		return string(r[:n]) + "…"
	}
	return text
}

func (d *Desk) attachUnmatched(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		d.notFound(w, r)
		return
	}
	ref := strings.ToUpper(strings.TrimSpace(r.PostForm.Get("ticket")))
	_, err = d.o.Store.AttachUnmatched(seq, ref, sessionFrom(r).user.Address, d.o.Now())
	var nu *workflow.NotUnmatchedError
	switch {
	case errors.As(err, &nu):
		d.showUnmatched(w, r, http.StatusConflict, "Dit bericht staat niet (meer) bij de losse berichten.")
	case workflow.IsNotFound(err):
		d.showUnmatched(w, r, http.StatusBadRequest, "Ticket "+ref+" bestaat niet.")
	case err != nil:
		d.fail(w, r, err)
	default:
		http.Redirect(w, r, "/tickets/"+ref+"?ok=attached", http.StatusSeeOther)
	}
}

func (d *Desk) dismissUnmatched(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		d.notFound(w, r)
		return
	}
	err = d.o.Store.DismissUnmatched(seq)
	var nu *workflow.NotUnmatchedError
	switch {
	case errors.As(err, &nu):
		d.showUnmatched(w, r, http.StatusConflict, "Dit bericht staat niet (meer) bij de losse berichten.")
	case err != nil:
		d.fail(w, r, err)
	default:
		d.o.Log.Info("desk: unmatched message dismissed", "seq", seq, "by", sessionFrom(r).user.Address)
		http.Redirect(w, r, "/unmatched?ok=dismissed", http.StatusSeeOther)
	}
}
