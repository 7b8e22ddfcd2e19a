package web

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/workflow"
)

// queuePageSize is the number of tickets per queue page.
const queuePageSize = 50

type queueData struct {
	page
	Form       queueForm
	States     []option
	Types      []option
	Mailboxes  []option
	Who        []option
	Sorts      []option
	Counts     []stateCount
	Rows       []queueRow
	Total      int
	Indexed    int
	From, To   int
	PrevURL    string
	NextURL    string
	ExportURL  string
	OpenCount  int
	AllURL     string
	AllCurrent bool
}

type queueForm struct {
	Text, State, Type, Mailbox, Who, Sort string
	Page                                  int
}

type stateCount struct {
	State   workflow.State
	Label   string
	N       int
	URL     string
	Current bool
}

type queueRow struct {
	workflow.Summary
	Age      string
	Waiting  string
	Assigned string
}

// parseQueueForm reads the queue's filters from the query string.
func parseQueueForm(v url.Values) queueForm {
	f := queueForm{Text: strings.TrimSpace(v.Get("q")), State: v.Get("status"), Type: v.Get("type"),
		Mailbox: v.Get("mailbox"), Who: v.Get("wie"), Sort: v.Get("sort")}
	if len(f.Text) > 200 {
		f.Text = f.Text[:200]
	}
	f.Page, _ = strconv.Atoi(v.Get("pagina"))
	f.Page = max(f.Page, 1)
	return f
}

func (f queueForm) values() url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("q", f.Text)
	set("status", f.State)
	set("type", f.Type)
	set("mailbox", f.Mailbox)
	set("wie", f.Who)
	set("sort", f.Sort)
	if f.Page > 1 {
		v.Set("pagina", strconv.Itoa(f.Page))
	}
	return v
}

func (f queueForm) url(path string) string {
	if q := f.values().Encode(); q != "" {
		return path + "?" + q
	}
	return path
}

// query turns the form into an index query for the user.
func (f queueForm) query(user string) workflow.QueueQuery {
	q := workflow.QueueQuery{Type: intake.Type(f.Type), Mailbox: f.Mailbox, Text: f.Text}
	switch f.State {
	case "":
	case "alle":
		q.AllStates = true
	default:
		q.State = workflow.State(f.State)
	}
	switch f.Who {
	case "mijn":
		q.Assignee = user
	case "vrij":
		q.Unassigned = true
	}
	if f.Sort == "wachtend" {
		q.Sort = workflow.SortWaiting
	} else {
		q.Sort = workflow.SortNewest
	}
	return q
}

func (d *Desk) queue(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	f := parseQueueForm(r.URL.Query())
	q := f.query(s.user.Address)
	q.Offset, q.Limit = (f.Page-1)*queuePageSize, queuePageSize
	res, err := d.o.Store.Queue(q)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	now := d.o.Now()
	data := queueData{page: d.base(r, "Wachtrij", "queue"), Form: f, Total: res.Total, Indexed: res.Indexed}
	data.States = []option{{Value: "", Label: "open", Selected: f.State == ""}, {Value: "alle", Label: "alle", Selected: f.State == "alle"}}
	for _, st := range deskStates {
		data.States = append(data.States, option{Value: string(st), Label: stateLabel(st), Selected: string(st) == f.State})
	}
	data.Types = typeOptions(intake.Type(f.Type), true)
	data.Mailboxes = []option{{Value: "", Label: "alle mailboxen", Selected: f.Mailbox == ""}}
	for _, m := range d.mailboxes() {
		data.Mailboxes = append(data.Mailboxes, option{Value: m, Label: m, Selected: m == f.Mailbox})
	}
	data.Who = []option{{"", "iedereen", f.Who == ""}, {"mijn", "mijn tickets", f.Who == "mijn"}, {"vrij", "niet toegewezen", f.Who == "vrij"}}
	data.Sorts = []option{{"", "nieuwste eerst", f.Sort != "wachtend"}, {"wachtend", "langst wachtend eerst", f.Sort == "wachtend"}}

	// The header row: a count per state, each a link that filters on it.
	for _, st := range deskStates {
		n := res.ByState[st]
		if n == 0 {
			continue
		}
		g := f
		g.State, g.Page = string(st), 1
		data.Counts = append(data.Counts, stateCount{State: st, Label: stateLabel(st), N: n, URL: g.url("/"), Current: f.State == string(st)})
		if st.Open() {
			data.OpenCount += n
		}
	}
	g := f
	g.State, g.Page = "alle", 1
	data.AllURL, data.AllCurrent = g.url("/"), f.State == "alle"

	for _, sum := range res.Rows {
		row := queueRow{Summary: sum, Age: fmtAge(sum.Created, now), Assigned: sum.AssigneeName}
		if row.Assigned == "" {
			row.Assigned = sum.Assignee
		}
		if !sum.Waiting.IsZero() && sum.State.Open() {
			row.Waiting = fmtAge(sum.Waiting, now)
		}
		data.Rows = append(data.Rows, row)
	}
	if res.Total > 0 {
		data.From = q.Offset + 1
		data.To = q.Offset + len(res.Rows)
	}
	if f.Page > 1 {
		p := f
		p.Page--
		data.PrevURL = p.url("/")
	}
	if q.Offset+len(res.Rows) < res.Total {
		p := f
		p.Page++
		data.NextURL = p.url("/")
	}
	e := f
	e.Page = 1
	data.ExportURL = e.url("/export.csv")
	d.render(w, r, http.StatusOK, "queue", data)
}

// mailboxes lists the configured mailbox names, else those seen in the
// index, sorted.
func (d *Desk) mailboxes() []string {
	if len(d.o.Mailboxes) > 0 {
		return d.o.Mailboxes
	}
	seen := map[string]bool{}
	_ = d.o.Store.EachSummary(func(s *workflow.Summary) bool {
		seen[s.Mailbox] = true
		return len(seen) < 20
	})
	var out []string
	for m := range seen {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// exportCSV writes the tickets matching the queue's filters as CSV, all
// pages, in the queue's order.
func (d *Desk) exportCSV(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	f := parseQueueForm(r.URL.Query())
	res, err := d.o.Store.Queue(f.query(s.user.Address))
	if err != nil {
		d.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="loket-tickets-`+d.o.Now().In(amsterdam).Format("2006-01-02")+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"referentie", "mailbox", "type", "status", "onderwerp", "aanvrager", "adres", "organisatie",
		"toegewezen aan", "aangemaakt", "bijgewerkt", "eerste antwoord", "berichten"})
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(amsterdam).Format("2006-01-02 15:04")
	}
	for _, x := range res.Rows {
		_ = cw.Write([]string{x.Ref, x.Mailbox, string(x.Type), string(x.State), csvSafe(x.Subject), csvSafe(x.RequesterName),
			csvSafe(x.RequesterAddress), csvSafe(x.Org), csvSafe(x.Assignee), ts(x.Created), ts(x.Updated), ts(x.FirstAnswer),
			strconv.Itoa(x.Messages)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		d.o.Log.Warn("desk: csv export", "err", err)
	}
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
