package web

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/poraad/loket/workflow"
)

// planningWeeks is how many weeks the planning shows by default.
const planningWeeks = 8

type planningData struct {
	page
	Weeks    []planningWeek
	Weeks2   int // the number of weeks shown
	MoreURL  string
	Sessions bool // sessions are configured
}

type planningWeek struct {
	Label        string
	Appointments []plannedAppointment
	Sessions     []plannedSession
}

type plannedAppointment struct {
	Start, End time.Time
	Ref        string
	Subject    string
	Who        string
	Org        string
	Leader     string
	Location   string
	State      workflow.State
}

type plannedSession struct {
	workflow.SessionView
	PlacedWho   []plannedPerson
	WaitlistWho []plannedPerson
	Taken       int
}

type plannedPerson struct {
	Ref, Name, Org string
}

// planning lists the coming appointments and sessions per week.
func (d *Desk) planning(w http.ResponseWriter, r *http.Request) {
	weeks, _ := strconv.Atoi(r.URL.Query().Get("weken"))
	if weeks <= 0 || weeks > 52 {
		weeks = planningWeeks
	}
	now := d.o.Now().In(amsterdam)
	monday := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, amsterdam)
	monday = monday.AddDate(0, 0, -((int(monday.Weekday()) + 6) % 7))
	end := monday.AddDate(0, 0, 7*weeks)
	data := planningData{page: d.base(r, "Planning", "planning"), Weeks2: weeks}
	if weeks < 52 {
		data.MoreURL = fmt.Sprintf("/planning?weken=%d", min(52, weeks*2))
	}
	for i := range weeks {
		start := monday.AddDate(0, 0, 7*i)
		_, wk := start.ISOWeek()
		data.Weeks = append(data.Weeks, planningWeek{Label: fmt.Sprintf("Week %d · %s – %s", wk, fmtDate(start), fmtDate(start.AddDate(0, 0, 6)))})
	}
	weekOf := func(t time.Time) int {
		if t.Before(monday) || !t.Before(end) {
			return -1
		}
		return int(t.Sub(monday).Hours()/24) / 7
	}

	err := d.o.Store.EachSummary(func(s *workflow.Summary) bool {
		if s.Appointment.IsZero() {
			return true
		}
		if i := weekOf(s.Appointment.In(amsterdam)); i >= 0 {
			data.Weeks[i].Appointments = append(data.Weeks[i].Appointments, plannedAppointment{
				Start: s.Appointment, End: s.AppointmentEnd, Ref: s.Ref, Subject: s.Subject,
				Who: cmp.Or(s.RequesterName, s.RequesterAddress), Org: s.Org,
				Leader: cmp.Or(s.AssigneeName, s.Assignee), Location: s.Location, State: s.State})
		}
		return true
	})
	if err != nil {
		d.fail(w, r, err)
		return
	}
	if d.o.Actions != nil {
		sessions, err := d.o.Actions.Sessions()
		if err != nil {
			d.fail(w, r, err)
			return
		}
		data.Sessions = len(sessions) > 0
		var refs []string
		for _, s := range sessions {
			refs = append(append(refs, s.Placed...), s.Waitlist...)
		}
		sums, err := d.o.Store.Summaries(refs...)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		person := func(ref string) plannedPerson {
			s := sums[ref]
			return plannedPerson{Ref: ref, Name: cmp.Or(s.RequesterName, s.RequesterAddress, ref), Org: s.Org}
		}
		for _, s := range sessions {
			i := weekOf(s.Start.In(amsterdam))
			if i < 0 {
				continue
			}
			ps := plannedSession{SessionView: s, Taken: len(s.Placed)}
			for _, ref := range s.Placed {
				ps.PlacedWho = append(ps.PlacedWho, person(ref))
			}
			for _, ref := range s.Waitlist {
				ps.WaitlistWho = append(ps.WaitlistWho, person(ref))
			}
			data.Weeks[i].Sessions = append(data.Weeks[i].Sessions, ps)
		}
	}
	for i := range data.Weeks {
		slices.SortFunc(data.Weeks[i].Appointments, func(a, b plannedAppointment) int { return a.Start.Compare(b.Start) })
		slices.SortFunc(data.Weeks[i].Sessions, func(a, b plannedSession) int { return a.Start.Compare(b.Start) })
	}
	d.render(w, r, http.StatusOK, "planning", data)
}
