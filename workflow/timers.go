package workflow

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Timers are stored in bucket timers under "REF/kind", one per kind per
// ticket: setting a timer again replaces it. A timer fires in the
// transaction that queues its mail and marks it fired, so it fires exactly
// once however often Loket restarts.

// Timer kinds.
const (
	timerReminder        = "herinnering"         // the requester, N days before the appointment
	timerNudge           = "leider"              // the assignee, after N working days waiting on us
	timerWaitingReminder = "wachten-herinnering" // the requester, after N days waiting on them
	timerWaitingClose    = "wachten-sluiten"     // close after the reminder went unanswered
)

var allTimerKinds = []string{timerReminder, timerNudge, timerWaitingReminder, timerWaitingClose}

// Timer is one stored timer.
type Timer struct {
	Ref     string    `json:"ref"`
	Kind    string    `json:"kind"`
	Due     time.Time `json:"due"`
	Set     time.Time `json:"set"`
	FiredAt time.Time `json:"fired_at,omitzero"`
}

func timerKey(ref, kind string) []byte { return []byte(ref + "/" + kind) }

func setTimerTx(tx *bolt.Tx, ref, kind string, due, now time.Time) error {
	return putJSON(tx.Bucket(bucketTimers), timerKey(ref, kind), Timer{Ref: ref, Kind: kind, Due: due, Set: now})
}

func clearTimersTx(tx *bolt.Tx, ref string, kinds ...string) error {
	b := tx.Bucket(bucketTimers)
	for _, k := range kinds {
		key := timerKey(ref, k)
		var t Timer
		if getJSON(b, key, &t) == nil && !t.FiredAt.IsZero() {
			continue // keep the record that it fired
		}
		if err := b.Delete(key); err != nil {
			return fmt.Errorf("clear timer %s: %w", key, err)
		}
	}
	return nil
}

// setReminder sets the reminder before the ticket's appointment.
func (o *op) setReminder() error {
	n := o.p.Settings.timers().ReminderDaysBefore
	a := o.t.Appointment
	if n <= 0 || a == nil || !a.Start.After(o.now) {
		return nil
	}
	due := a.Start.AddDate(0, 0, -n)
	if due.Before(o.now) {
		due = o.now
	}
	return setTimerTx(o.tx, o.t.Ref, timerReminder, due, o.now)
}

func (o *op) setWaiting() error {
	n := o.p.Settings.timers().WaitingReminderDays
	if n <= 0 {
		return nil
	}
	return setTimerTx(o.tx, o.t.Ref, timerWaitingReminder, o.now.AddDate(0, 0, n), o.now)
}

// setNudge (re)starts the wait for the desk's answer.
func (o *op) setNudge() error {
	n := o.p.Settings.timers().NudgeWorkingDays
	if n <= 0 || o.t.Assignee == "" || !o.t.State.Open() {
		return nil
	}
	return setTimerTx(o.tx, o.t.Ref, timerNudge, addWorkingDays(o.now, n), o.now)
}

func (s *Settings) timers() TimerSettings {
	if s == nil {
		return TimerSettings{}
	}
	return s.Timers
}

// addWorkingDays adds n days to t, not counting Saturdays and Sundays in
// Amsterdam.
func addWorkingDays(t time.Time, n int) time.Time {
	d := t.In(amsterdam)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return d
}

// Timers returns a ticket's timers, fired or not.
func (s *Store) Timers(ref string) ([]Timer, error) {
	var out []Timer
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketTimers).Cursor()
		prefix := []byte(ref + "/")
		for k, v := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, v = c.Next() {
			var t Timer
			if err := getJSON(tx.Bucket(bucketTimers), k, &t); err != nil {
				return err
			}
			_ = v
			out = append(out, t)
		}
		return nil
	})
	return out, err
}

// RunTimers fires due timers every interval until ctx is done.
func (d *Desk) RunTimers(ctx context.Context, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = time.Minute
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if n, err := d.FireDue(ctx); err != nil {
			log.Error("timers", "err", err)
		} else if n > 0 {
			log.Info("timers fired", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// FireDue fires every timer due now and returns how many fired.
func (d *Desk) FireDue(ctx context.Context) (int, error) {
	now := d.Policy.now()
	var due []Timer
	err := d.Store.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTimers)
		return b.ForEach(func(k, _ []byte) error {
			var t Timer
			if err := getJSON(b, k, &t); err != nil {
				return err
			}
			if t.FiredAt.IsZero() && !t.Due.After(now) {
				due = append(due, t)
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("list due timers: %w", err)
	}
	fired := 0
	for _, t := range due {
		if err := ctx.Err(); err != nil {
			return fired, err
		}
		ok, err := d.fire(t, now)
		if err != nil {
			return fired, fmt.Errorf("fire timer %s/%s: %w", t.Ref, t.Kind, err)
		}
		if ok {
			fired++
		}
	}
	return fired, nil
}

// fire runs one timer in one transaction with its mail and its mark.
func (d *Desk) fire(tm Timer, now time.Time) (bool, error) {
	fired := false
	_, err := d.update(tm.Ref, "loket", "", func(o *op) error {
		o.now = now
		b := o.tx.Bucket(bucketTimers)
		var cur Timer
		if err := getJSON(b, timerKey(tm.Ref, tm.Kind), &cur); err != nil {
			if IsNotFound(err) {
				return nil // cleared meanwhile
			}
			return err
		}
		if !cur.FiredAt.IsZero() || !cur.Due.Equal(tm.Due) {
			return nil // fired or moved meanwhile
		}
		if err := o.fireTimer(cur); err != nil {
			return err
		}
		cur.FiredAt = now
		fired = true
		return putJSON(b, timerKey(tm.Ref, tm.Kind), cur)
	})
	return fired, err
}

func (o *op) fireTimer(tm Timer) error {
	t := o.t
	set := o.p.Settings.timers()
	switch tm.Kind {
	case timerReminder:
		a := t.Appointment
		if (t.State != StateScheduled && t.State != StatePlaced) || a == nil || !a.Start.After(o.now) {
			t.audit(o.now, "loket", "timer", "herinnering vervallen (status "+string(t.State)+")", "")
			return nil
		}
		d := o.data()
		d.Days = max(1, int(a.Start.Sub(o.now).Hours()/24+0.5))
		if s, ok := o.p.Settings.session(t.Session); ok && t.Family == FamilyRegistration {
			d.SessionTitle = s.Title
		}
		_, err := o.mailRequester("herinnering afspraak", "herinnering-afspraak", d, mailOpts{automatic: true})
		return err
	case timerNudge:
		if !t.State.Open() || t.State == StateWaiting || t.Assignee == "" {
			return nil
		}
		d := o.data()
		d.Days = set.NudgeWorkingDays
		_, err := o.queue("herinnering projectleider", "leider-herinnering", d, mailOpts{to: []string{t.Assignee}, automatic: true, noThread: true})
		return err
	case timerWaitingReminder:
		if t.State != StateWaiting {
			return nil
		}
		d := o.data()
		d.Days = set.WaitingCloseDays
		if _, err := o.mailRequester("herinnering wachten", "herinnering-wachten", d, mailOpts{automatic: true}); err != nil {
			return err
		}
		if set.WaitingCloseDays > 0 {
			return setTimerTx(o.tx, t.Ref, timerWaitingClose, o.now.AddDate(0, 0, set.WaitingCloseDays), o.now)
		}
		return nil
	case timerWaitingClose:
		if t.State != StateWaiting {
			return nil
		}
		if _, err := o.mailRequester("gesloten zonder reactie", "gesloten-geen-reactie", o.data(), mailOpts{automatic: true}); err != nil {
			return err
		}
		o.note = "geen reactie van de aanvrager"
		return o.Apply(EventClose)
	}
	return fmt.Errorf("unknown timer kind %q", tm.Kind)
}
