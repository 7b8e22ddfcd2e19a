package config

import (
	"slices"
	"strings"
)

// registrationTypes are the request types whose tickets are placed in
// sessions.
var registrationTypes = []string{"werkbijeenkomst", "opp-bijeenkomst", "training", "tweedaagse"}

// validateDesk checks [[leader]], [[session]] and [timers].
func (c *Config) validateDesk(r *report) {
	v := validator{r}
	addresses := map[string]int{}
	for i, l := range c.Leaders {
		p := keyPath{"leader"}.index(i)
		v.required(p.key("name"), l.Name)
		if v.required(p.key("address"), l.Address) {
			addr := strings.ToLower(l.Address)
			if !validAddress(l.Address) {
				r.add(p.key("address"), "must be a plain e-mail address such as name@example.org, not %q", l.Address)
			} else if j, dup := addresses[addr]; dup {
				r.add(p.key("address"), "leader[%d] has the same address %q", j, l.Address)
			} else {
				addresses[addr] = i
			}
			for j, m := range c.Mailboxes {
				if strings.EqualFold(m.Address, l.Address) {
					r.add(p.key("address"), "is the address of mailbox[%d]; a leader needs an address of their own", j)
				}
			}
		}
		for j, typ := range l.Types {
			if !slices.Contains(RequestTypes, typ) {
				r.add(p.key("types").index(j), "unknown request type %q; use one of %s", typ, strings.Join(RequestTypes, ", "))
			}
		}
	}
	ids := map[string]int{}
	for i, s := range c.Sessions {
		p := keyPath{"session"}.index(i)
		if v.required(p.key("id"), s.ID) {
			if !mailboxNameRE.MatchString(s.ID) {
				r.add(p.key("id"), "must be lower-case letters, digits and '-' only, not %q", s.ID)
			} else if j, dup := ids[s.ID]; dup {
				r.add(p.key("id"), "session[%d] has the same id %q", j, s.ID)
			} else {
				ids[s.ID] = i
			}
		}
		if v.required(p.key("type"), s.Type) && !slices.Contains(registrationTypes, s.Type) {
			r.add(p.key("type"), "must be a registration type (%s), not %q", strings.Join(registrationTypes, ", "), s.Type)
		}
		v.required(p.key("title"), s.Title)
		v.required(p.key("location"), s.Location)
		switch {
		case s.Start.IsZero():
			r.add(p.key("start"), "is required: a date-time with offset such as 2026-04-14T13:00:00+02:00")
		case !s.End.After(s.Start):
			r.add(p.key("end"), "must be after start")
		}
		if s.Capacity < 1 {
			r.add(p.key("capacity"), "must be at least 1")
		}
	}
	t := keyPath{"timers"}
	for _, kv := range []struct {
		key string
		n   int
	}{{"reminder_days_before", c.Timers.ReminderDaysBefore}, {"nudge_working_days", c.Timers.NudgeWorkingDays},
		{"waiting_reminder_days", c.Timers.WaitingReminderDays}, {"waiting_close_days", c.Timers.WaitingCloseDays}} {
		if kv.n < 0 {
			r.add(t.key(kv.key), "must not be negative (0 switches it off)")
		}
	}
	v.positive(t.key("interval"), int64(c.Timers.Interval.Duration))
}
