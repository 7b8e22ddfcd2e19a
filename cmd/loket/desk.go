package main

import (
	"strings"

	"github.com/poraad/loket/config"
	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/workflow"
)

// deskSettings turns [[leader]], [[session]], [timers] and web.base_url
// into the workflow's settings.
func deskSettings(c *config.Config) *workflow.Settings {
	s := &workflow.Settings{
		BaseURL: c.Web.BaseURL,
		Timers: workflow.TimerSettings{
			ReminderDaysBefore: c.Timers.ReminderDaysBefore, NudgeWorkingDays: c.Timers.NudgeWorkingDays,
			WaitingReminderDays: c.Timers.WaitingReminderDays, WaitingCloseDays: c.Timers.WaitingCloseDays,
		},
	}
	for _, l := range c.Leaders {
		wl := workflow.Leader{Name: l.Name, Address: strings.ToLower(l.Address)}
		for _, t := range l.Types {
			wl.Types = append(wl.Types, intake.Type(t))
		}
		s.Leaders = append(s.Leaders, wl)
	}
	for _, x := range c.Sessions {
		s.Sessions = append(s.Sessions, workflow.MeetingSession{ID: x.ID, Type: intake.Type(x.Type), Title: x.Title,
			Start: x.Start, End: x.End, Location: x.Location, Capacity: x.Capacity})
	}
	return s
}
