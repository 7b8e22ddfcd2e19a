package workflow

import (
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
)

// leadersFor returns the leaders who take tickets of type typ, in the
// order of the configuration.
func (s *Settings) leadersFor(typ intake.Type) []Leader {
	if s == nil {
		return nil
	}
	var out []Leader
	for _, l := range s.Leaders {
		if len(l.Types) == 0 || slices.Contains(l.Types, typ) {
			out = append(out, l)
		}
	}
	return out
}

// autoAssignTx gives a new ticket to the next leader for its type, round
// robin (a counter per type in bucket counters), and queues the leader's
// notification. Referrals are left alone: the Steunpunt has them.
func autoAssignTx(tx *bolt.Tx, t *Ticket, p *Policy, now time.Time, res *IngestResult) error {
	leaders := p.Settings.leadersFor(t.Type)
	if len(leaders) == 0 || t.Family == FamilyReferral || t.Assignee != "" {
		return nil
	}
	n, err := nextCounterTx(tx, "assign/"+string(t.Type))
	if err != nil {
		return err
	}
	l := leaders[int((n-1)%uint64(len(leaders)))]
	o := &op{tx: tx, p: p, t: t, now: now, actor: "loket", note: "automatisch toegewezen (om de beurt)"}
	t.Assignee, t.AssigneeName = strings.ToLower(l.Address), l.Name
	if _, ok := transitions[t.Family][t.State][EventAssign]; !ok {
		t.audit(now, "loket", "assign", "toegewezen aan "+l.Address, "")
	} else if err := o.Apply(EventAssign); err != nil {
		return fmt.Errorf("assign %s to %s: %w", t.Ref, l.Address, err)
	}
	if err := o.setNudge(); err != nil {
		return err
	}
	res.Queued += o.queued
	return nil
}
