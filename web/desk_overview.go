package web

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/workflow"
)

// overviewMonths is how many months the overview covers.
const overviewMonths = 12

type overviewData struct {
	page
	Total        int
	Open         int
	Months       []string // labels, oldest first
	TypeRows     []typeMonthRow
	MonthTotals  []int
	PerMonth     barChart
	PerType      barChart
	PerOrg       barChart
	AnswerChart  barChart
	Median       string // median time to first human answer over all answered tickets
	Answered     int
	Unanswered   int
	AnswerMonths []answerMonth
}

type typeMonthRow struct {
	Type   intake.Type
	Label  string
	Counts []int
	Total  int
}

type answerMonth struct {
	Month  string
	Median string
	N      int
}

// barChart is a horizontal bar chart drawn as inline SVG on the server.
type barChart struct {
	ID     string
	Title  string
	Width  int
	Height int
	LabelW int
	Bars   []bar
	Empty  bool
}

type bar struct {
	Label string
	Value string
	Y     int // top of the row
	TextY int // baseline of the row's text
	W     int // bar width
	ValX  int // x of the value text
}

const (
	chartWidth = 640
	rowHeight  = 22
	barHeight  = 16
)

// newBarChart scales values to bars; labels and values must be the same
// length.
func newBarChart(id, title string, labels []string, values []float64, format func(float64) string) barChart {
	c := barChart{ID: id, Title: title, Width: chartWidth, LabelW: 200, Empty: len(values) == 0}
	top := 0.0
	for _, v := range values {
		top = max(top, v)
	}
	room := chartWidth - c.LabelW - 70
	for i, v := range values {
		w := 0
		if top > 0 {
			w = int(v / top * float64(room))
		}
		if v > 0 {
			w = max(w, 1)
		}
		y := i * rowHeight
		c.Bars = append(c.Bars, bar{Label: excerpt(labels[i], 30), Value: format(v), Y: y + (rowHeight-barHeight)/2,
			TextY: y + rowHeight/2 + 5, W: w, ValX: c.LabelW + w + 6})
	}
	c.Height = max(len(values), 1) * rowHeight
	return c
}

func count(v float64) string { return fmt.Sprintf("%.0f", v) }

// fmtHours writes a duration given in hours: "3,5 u" or "2,1 d".
func fmtHours(h float64) string {
	if h >= 48 {
		return strings.Replace(fmt.Sprintf("%.1f d", h/24), ".", ",", 1)
	}
	return strings.Replace(fmt.Sprintf("%.1f u", h), ".", ",", 1)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func (d *Desk) overview(w http.ResponseWriter, r *http.Request) {
	now := d.o.Now().In(amsterdam)
	first := time.Date(now.Year(), now.Month()-overviewMonths+1, 1, 0, 0, 0, 0, amsterdam)
	monthIndex := func(t time.Time) int {
		t = t.In(amsterdam)
		i := (t.Year()-first.Year())*12 + int(t.Month()) - int(first.Month())
		if i < 0 || i >= overviewMonths {
			return -1
		}
		return i
	}
	data := overviewData{page: d.base(r, "Overzicht", "overview"), MonthTotals: make([]int, overviewMonths)}
	for i := range overviewMonths {
		m := first.AddDate(0, i, 0)
		data.Months = append(data.Months, fmt.Sprintf("%s %d", months[m.Month()-1], m.Year()%100))
	}
	perType := map[intake.Type][]int{}
	perOrg := map[string]int{}
	var answers []float64
	answersPerMonth := make([][]float64, overviewMonths)
	err := d.o.Store.EachSummary(func(s *workflow.Summary) bool {
		data.Total++
		if s.State.Open() {
			data.Open++
		}
		org := strings.TrimSpace(s.Org)
		if org == "" {
			org = "(onbekend)"
		}
		perOrg[org]++
		if !s.FirstAnswer.IsZero() {
			h := s.FirstAnswer.Sub(s.Created).Hours()
			answers = append(answers, max(h, 0))
			if i := monthIndex(s.Created); i >= 0 {
				answersPerMonth[i] = append(answersPerMonth[i], max(h, 0))
			}
		} else if s.State.Open() {
			data.Unanswered++
		}
		i := monthIndex(s.Created)
		if i < 0 {
			return true
		}
		if perType[s.Type] == nil {
			perType[s.Type] = make([]int, overviewMonths)
		}
		perType[s.Type][i]++
		data.MonthTotals[i]++
		return true
	})
	if err != nil {
		d.fail(w, r, err)
		return
	}

	var labels []string
	var values []float64
	for i, n := range data.MonthTotals {
		labels, values = append(labels, data.Months[i]), append(values, float64(n))
	}
	data.PerMonth = newBarChart("per-maand", "Nieuwe aanvragen per maand", labels, values, count)

	labels, values = nil, nil
	for _, t := range intake.Types {
		counts := perType[t]
		if counts == nil {
			counts = make([]int, overviewMonths)
		}
		row := typeMonthRow{Type: t, Label: typeLabel(t), Counts: counts}
		for _, n := range counts {
			row.Total += n
		}
		data.TypeRows = append(data.TypeRows, row)
		labels, values = append(labels, row.Label), append(values, float64(row.Total))
	}
	data.PerType = newBarChart("per-type", "Aanvragen per type (laatste 12 maanden)", labels, values, count)

	type orgCount struct {
		org string
		n   int
	}
	var orgs []orgCount
	for o, n := range perOrg {
		orgs = append(orgs, orgCount{o, n})
	}
	slices.SortFunc(orgs, func(a, b orgCount) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.org, b.org)) })
	labels, values = nil, nil
	for _, o := range orgs[:min(len(orgs), 15)] {
		labels, values = append(labels, o.org), append(values, float64(o.n))
	}
	data.PerOrg = newBarChart("per-organisatie", "Aanvragen per organisatie (top 15, alle tijd)", labels, values, count)

	data.Answered = len(answers)
	if len(answers) > 0 {
		data.Median = fmtHours(median(answers))
	}
	labels, values = nil, nil
	for i, xs := range answersPerMonth {
		am := answerMonth{Month: data.Months[i], N: len(xs)}
		if len(xs) > 0 {
			med := median(xs)
			am.Median = fmtHours(med)
			labels, values = append(labels, data.Months[i]), append(values, med)
		}
		data.AnswerMonths = append(data.AnswerMonths, am)
	}
	data.AnswerChart = newBarChart("eerste-antwoord", "Mediane tijd tot het eerste antwoord van een mens, per maand van aanvraag", labels, values, fmtHours)
	d.render(w, r, http.StatusOK, "overview", data)
}
