package workflow

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
)

// The queue index. The desk's queue, search and overview must stay fast at
// 100 000 tickets, so they never decode whole tickets:
//
//   - bucketTicketIndex holds a Summary per ticket and bucketTicketWords the
//     lower-case words of its inbound mail. Both are written by
//     indexTicketTx, which putTicketTx calls, so they change in the same
//     transaction as the ticket itself.
//   - every summary written also appends its ref to bucketIndexLog.
//   - Store.idx keeps all summaries in memory with an inverted index of the
//     body words. Before each query it reads the log entries it has not seen
//     (one short read transaction) and applies them; when it has fallen
//     further behind than the log reaches, it rebuilds from the buckets.
//
// Body words only grow: a ticket gains messages, it never loses them. So
// the inverted index only ever adds postings.

// Summary is the compact view of a ticket that lists and search work on.
type Summary struct {
	Ref              string      `json:"ref"`
	Mailbox          string      `json:"mailbox"`
	Type             intake.Type `json:"type"`
	Family           Family      `json:"family"`
	State            State       `json:"state"`
	Subject          string      `json:"subject"`
	RequesterName    string      `json:"requester_name,omitempty"`
	RequesterAddress string      `json:"requester_address"`
	Org              string      `json:"org,omitempty"`
	Assignee         string      `json:"assignee,omitempty"`
	AssigneeName     string      `json:"assignee_name,omitempty"`
	Created          time.Time   `json:"created"`
	Updated          time.Time   `json:"updated"`
	// Waiting is when the oldest inbound message that no person has
	// answered yet arrived; zero when a person answered the last one.
	Waiting time.Time `json:"waiting,omitzero"`
	// FirstAnswer is when a person first mailed the requester (not an
	// automatic confirmation); zero when nobody has yet.
	FirstAnswer time.Time `json:"first_answer,omitzero"`
	Messages    int       `json:"messages"`
	// Appointment and AppointmentEnd are the agreed date of a ticket whose
	// appointment stands (not cancelled); Location its place. Session is
	// the session a registration is placed or waitlisted in.
	Appointment    time.Time `json:"appointment,omitzero"`
	AppointmentEnd time.Time `json:"appointment_end,omitzero"`
	Location       string    `json:"location,omitempty"`
	Session        string    `json:"session,omitempty"`
	Bounced        bool      `json:"bounced,omitempty"`
	Flagged        bool      `json:"flagged,omitempty"`
	// WordsSeq is the highest message seq whose words are in the ticket's
	// words; Rev the index log sequence of this version.
	WordsSeq uint64 `json:"words_seq,omitempty"`
	Rev      uint64 `json:"rev"`
}

// Limits of the body words kept per ticket.
const (
	maxWordsPerTicket = 800
	maxWordRunes      = 40
	// indexLogKeep is how many log entries are kept; an in-memory index
	// further behind than this rebuilds.
	indexLogKeep = 50000
)

// indexTicketTx writes t's summary and words and logs the change. It runs
// in the transaction that stores t.
func indexTicketTx(tx *bolt.Tx, t *Ticket) error {
	ib := tx.Bucket(bucketTicketIndex)
	var old Summary
	if err := getJSON(ib, []byte(t.Ref), &old); err != nil && !errors.Is(err, ErrNotFound) {
		old = Summary{}
	}
	sum := Summary{
		Ref: t.Ref, Mailbox: t.Mailbox, Type: t.Type, Family: t.Family, State: t.State, Subject: t.Subject,
		RequesterName: t.Requester.Name, RequesterAddress: t.Requester.Address, Org: t.Org,
		Assignee: t.Assignee, AssigneeName: t.AssigneeName,
		Created: t.Created, Updated: t.Updated, Messages: len(t.Messages), Bounced: t.Bounced, Flagged: len(t.Flags) > 0,
		FirstAnswer: old.FirstAnswer, WordsSeq: old.WordsSeq, Session: t.Session,
	}
	if a := t.Appointment; a != nil && a.Status != "cancelled" && t.State != StateCancelled {
		sum.Appointment, sum.AppointmentEnd, sum.Location = a.Start, a.End, a.Location
	}
	messages := tx.Bucket(bucketMessages)
	outbox := tx.Bucket(bucketOutbox)
	var newText []string
	for _, m := range t.Messages {
		// A sender's Date can be anything; nothing of a ticket predates it.
		when := m.Date
		if when.Before(t.Created) {
			when = t.Created
		}
		switch m.Direction {
		case DirIn:
			if m.Kind == intake.KindAutoReply || m.Kind == intake.KindBounce {
				continue
			}
			if sum.Waiting.IsZero() {
				sum.Waiting = when
			}
			if m.Seq > old.WordsSeq {
				var rec struct {
					Message struct {
						Text string `json:"text"`
					} `json:"message"`
				}
				if getJSON(messages, itob(m.Seq), &rec) == nil {
					newText = append(newText, rec.Message.Text)
				}
				sum.WordsSeq = max(sum.WordsSeq, m.Seq)
			}
		case DirOut:
			var e struct {
				Automatic bool   `json:"automatic"`
				Purpose   string `json:"purpose"`
			}
			if m.OutboxID == 0 || getJSON(outbox, itob(m.OutboxID), &e) != nil || e.Automatic || !answerPurpose(e.Purpose) {
				continue
			}
			sum.Waiting = time.Time{}
			if sum.FirstAnswer.IsZero() {
				sum.FirstAnswer = when
			}
		}
	}
	if len(newText) > 0 {
		wb := tx.Bucket(bucketTicketWords)
		words := mergeWords(string(wb.Get([]byte(t.Ref))), newText)
		if err := wb.Put([]byte(t.Ref), []byte(words)); err != nil {
			return fmt.Errorf("index words of %s: %w", t.Ref, err)
		}
	}
	lb := tx.Bucket(bucketIndexLog)
	seq, err := lb.NextSequence()
	if err != nil {
		return fmt.Errorf("index log sequence: %w", err)
	}
	sum.Rev = seq
	if err := lb.Put(itob(seq), []byte(t.Ref)); err != nil {
		return fmt.Errorf("index log: %w", err)
	}
	if seq > indexLogKeep {
		if err := lb.Delete(itob(seq - indexLogKeep)); err != nil {
			return fmt.Errorf("trim index log: %w", err)
		}
	}
	return putJSON(ib, []byte(t.Ref), sum)
}

// answerPurpose reports whether an outbound mail of this purpose answers
// the requester (rather than notifying a leader).
func answerPurpose(p string) bool {
	return !strings.HasPrefix(p, "leider") && !strings.HasPrefix(p, "leader") && p != "bevestiging"
}

// Words splits text into unique lower-case words of letters and digits, in
// order of first appearance.
func Words(text string) []string {
	var out []string
	seen := map[string]bool{}
	for f := range strings.FieldsFuncSeq(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if utf8.RuneCountInString(f) < 2 {
			continue
		}
		if utf8.RuneCountInString(f) > maxWordRunes {
			f = string([]rune(f)[:maxWordRunes])
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// mergeWords adds the words of texts to a space-separated word list.
func mergeWords(have string, texts []string) string {
	words := strings.Fields(have)
	if len(words) >= maxWordsPerTicket {
		return have
	}
	seen := make(map[string]bool, len(words))
	for _, w := range words {
		seen[w] = true
	}
	for _, text := range texts {
		for _, w := range Words(text) {
			if len(words) >= maxWordsPerTicket {
				break
			}
			if !seen[w] {
				seen[w] = true
				words = append(words, w)
			}
		}
	}
	return strings.Join(words, " ")
}

// QueueSort orders the queue.
type QueueSort string

const (
	SortNewest  QueueSort = "newest"  // created, newest first
	SortWaiting QueueSort = "waiting" // waiting on the desk longest first
)

// QueueQuery selects tickets from the index; empty fields match all.
type QueueQuery struct {
	// State selects one state; empty with AllStates false selects the open
	// states only.
	State     State
	AllStates bool
	Type      intake.Type
	Mailbox   string
	// Assignee selects tickets of one leader; Unassigned those of none.
	Assignee   string
	Unassigned bool
	// Text: every word must occur in the reference, subject, requester,
	// organisation or assignee, or be part of a word of the mail.
	Text   string
	Sort   QueueSort
	Offset int
	Limit  int // 0: no limit
}

// QueueResult is one page of the queue.
type QueueResult struct {
	Rows  []Summary
	Total int // tickets matching the whole query
	// ByState counts the tickets matching every part of the query but the
	// state.
	ByState map[State]int
	// Indexed is the number of tickets in the index.
	Indexed int
}

// Queue answers a query from the in-memory index.
func (s *Store) Queue(q QueueQuery) (QueueResult, error) {
	if err := s.refreshIndex(); err != nil {
		return QueueResult{}, err
	}
	return s.idx.query(q), nil
}

// EachSummary calls fn with every ticket's summary, in no particular order,
// until fn returns false. fn must not call the store.
func (s *Store) EachSummary(fn func(*Summary) bool) error {
	if err := s.refreshIndex(); err != nil {
		return err
	}
	s.idx.mu.RLock()
	defer s.idx.mu.RUnlock()
	for i := range s.idx.slots {
		if !fn(&s.idx.slots[i].sum) {
			break
		}
	}
	return nil
}

// Summaries returns the summaries of the given tickets; unknown refs are
// left out.
func (s *Store) Summaries(refs ...string) (map[string]Summary, error) {
	if err := s.refreshIndex(); err != nil {
		return nil, err
	}
	s.idx.mu.RLock()
	defer s.idx.mu.RUnlock()
	out := make(map[string]Summary, len(refs))
	for _, ref := range refs {
		if i, ok := s.idx.byRef[ref]; ok {
			out[ref] = s.idx.slots[i].sum
		}
	}
	return out, nil
}

// WarmIndex builds the in-memory index now rather than at the first query.
func (s *Store) WarmIndex() error { return s.refreshIndex() }

// ticketIndex is the in-memory index; its zero value is empty and unbuilt.
type ticketIndex struct {
	mu       sync.RWMutex
	built    bool
	lastSeq  uint64
	slots    []indexSlot
	byRef    map[string]int32
	wordIDs  map[string]int32
	vocab    []string  // word id -> word
	postings [][]int32 // word id -> slots, ascending
	order    map[QueueSort][]int32
}

type indexSlot struct {
	sum Summary
	key string // lower-case ref, subject, requester, organisation, assignee
}

func slotKey(s *Summary) string {
	return strings.ToLower(strings.Join([]string{s.Ref, s.Subject, s.RequesterName, s.RequesterAddress, s.Org, s.AssigneeName, s.Assignee}, "\x00"))
}

// refreshIndex brings the in-memory index up to date with the store.
func (s *Store) refreshIndex() error {
	x := &s.idx
	var last uint64
	if err := s.db.View(func(tx *bolt.Tx) error {
		last = tx.Bucket(bucketIndexLog).Sequence()
		return nil
	}); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	x.mu.RLock()
	built := x.built
	fresh := built && x.lastSeq == last
	x.mu.RUnlock()
	if fresh {
		return nil
	}
	if !built {
		// Once per store: every write since Open indexes its ticket.
		if err := s.backfillIndex(); err != nil {
			return err
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	err := s.db.View(func(tx *bolt.Tx) error {
		lb := tx.Bucket(bucketIndexLog)
		if x.built {
			c := lb.Cursor()
			k, _ := c.First()
			if k == nil || btoi(k) <= x.lastSeq+1 {
				for k, v := c.Seek(itob(x.lastSeq + 1)); k != nil; k, v = c.Next() {
					if err := x.applyTx(tx, string(v)); err != nil {
						return err
					}
				}
				x.lastSeq = lb.Sequence()
				return nil
			}
		}
		return x.buildTx(tx)
	})
	if err != nil {
		x.built = false
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

// backfillIndex indexes tickets stored before the index existed.
func (s *Store) backfillIndex() error {
	var missing bool
	if err := s.db.View(func(tx *bolt.Tx) error {
		missing = tx.Bucket(bucketTickets).Stats().KeyN != tx.Bucket(bucketTicketIndex).Stats().KeyN
		return nil
	}); err != nil || !missing {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		ib := tx.Bucket(bucketTicketIndex)
		var refs [][]byte
		if err := tx.Bucket(bucketTickets).ForEach(func(k, _ []byte) error {
			if ib.Get(k) == nil {
				refs = append(refs, bytes.Clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, ref := range refs {
			t, err := ticketTx(tx, string(ref))
			if err != nil {
				return err
			}
			if err := indexTicketTx(tx, t); err != nil {
				return err
			}
		}
		return nil
	})
}

func (x *ticketIndex) buildTx(tx *bolt.Tx) error {
	n := tx.Bucket(bucketTicketIndex).Stats().KeyN
	x.slots = make([]indexSlot, 0, n)
	x.byRef = make(map[string]int32, n)
	x.wordIDs = map[string]int32{}
	x.vocab, x.postings, x.order = nil, nil, nil
	x.built = false
	words := tx.Bucket(bucketTicketWords)
	err := tx.Bucket(bucketTicketIndex).ForEach(func(k, v []byte) error {
		var sum Summary
		if err := getJSON(tx.Bucket(bucketTicketIndex), k, &sum); err != nil {
			return err
		}
		x.put(sum, words.Get(k))
		return nil
	})
	if err != nil {
		return err
	}
	x.lastSeq = tx.Bucket(bucketIndexLog).Sequence()
	x.built = true
	return nil
}

func (x *ticketIndex) applyTx(tx *bolt.Tx, ref string) error {
	var sum Summary
	if err := getJSON(tx.Bucket(bucketTicketIndex), []byte(ref), &sum); err != nil {
		return err
	}
	x.put(sum, tx.Bucket(bucketTicketWords).Get([]byte(ref)))
	return nil
}

// put inserts or replaces a summary and adds its words' postings.
func (x *ticketIndex) put(sum Summary, words []byte) {
	slot, ok := x.byRef[sum.Ref]
	if ok {
		if x.slots[slot].sum.Rev > sum.Rev {
			return
		}
		x.slots[slot] = indexSlot{sum: sum, key: slotKey(&sum)}
	} else {
		slot = int32(len(x.slots))
		x.slots = append(x.slots, indexSlot{sum: sum, key: slotKey(&sum)})
		x.byRef[sum.Ref] = slot
	}
	x.order = nil
	for w := range strings.FieldsSeq(string(words)) {
		id, ok := x.wordIDs[w]
		if !ok {
			id = int32(len(x.vocab))
			x.wordIDs[w] = id
			x.vocab = append(x.vocab, w)
			x.postings = append(x.postings, nil)
		}
		p := x.postings[id]
		if n := len(p); n == 0 || p[n-1] < slot {
			x.postings[id] = append(p, slot)
			continue
		}
		if i, found := slices.BinarySearch(p, slot); !found {
			x.postings[id] = slices.Insert(p, i, slot)
		}
	}
}

// sorted returns the slots in the order of sort, cached until a change.
func (x *ticketIndex) sorted(by QueueSort) []int32 {
	if o, ok := x.order[by]; ok {
		return o
	}
	o := make([]int32, len(x.slots))
	for i := range o {
		o[i] = int32(i)
	}
	newest := func(a, b *Summary) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return cmp.Compare(b.Ref, a.Ref)
	}
	switch by {
	case SortWaiting:
		slices.SortFunc(o, func(i, j int32) int {
			a, b := &x.slots[i].sum, &x.slots[j].sum
			switch {
			case a.Waiting.IsZero() != b.Waiting.IsZero():
				if a.Waiting.IsZero() {
					return 1
				}
				return -1
			case !a.Waiting.Equal(b.Waiting):
				return a.Waiting.Compare(b.Waiting)
			}
			return -newest(a, b)
		})
	default:
		slices.SortFunc(o, func(i, j int32) int { return newest(&x.slots[i].sum, &x.slots[j].sum) })
	}
	if x.order == nil {
		x.order = map[QueueSort][]int32{}
	}
	x.order[by] = o
	return o
}

// bitset is a set of slots.
type bitset []uint64

func (b bitset) has(i int32) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
func (b bitset) add(i int32)      { b[i>>6] |= 1 << (uint(i) & 63) }

func (x *ticketIndex) query(q QueueQuery) QueueResult {
	by := cmp.Or(q.Sort, SortNewest)
	x.mu.RLock()
	if order, ok := x.order[by]; ok {
		defer x.mu.RUnlock()
		return x.run(q, order)
	}
	x.mu.RUnlock()
	// Sorting needs the write lock, once after each change.
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.run(q, x.sorted(by))
}

// run answers q over the slots in order; the caller holds a lock.
func (x *ticketIndex) run(q QueueQuery, order []int32) QueueResult {
	terms := strings.Fields(strings.ToLower(q.Text))
	body := make([]bitset, len(terms))
	for t, term := range terms {
		if utf8.RuneCountInString(term) < 2 {
			continue
		}
		set := make(bitset, len(x.slots)/64+1)
		for id, w := range x.vocab {
			if strings.Contains(w, term) {
				for _, s := range x.postings[id] {
					set.add(s)
				}
			}
		}
		body[t] = set
	}
	assignee := strings.ToLower(q.Assignee)

	res := QueueResult{ByState: map[State]int{}, Indexed: len(x.slots)}
	for _, i := range order {
		sl := &x.slots[i]
		s := &sl.sum
		if (q.Type != "" && s.Type != q.Type) || (q.Mailbox != "" && s.Mailbox != q.Mailbox) ||
			(assignee != "" && s.Assignee != assignee) || (q.Unassigned && s.Assignee != "") {
			continue
		}
		match := true
		for t, term := range terms {
			if !strings.Contains(sl.key, term) && (body[t] == nil || !body[t].has(i)) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		res.ByState[s.State]++
		switch {
		case q.State != "":
			if s.State != q.State {
				continue
			}
		case !q.AllStates:
			if !s.State.Open() {
				continue
			}
		}
		if res.Total >= q.Offset && (q.Limit <= 0 || len(res.Rows) < q.Limit) {
			res.Rows = append(res.Rows, *s)
		}
		res.Total++
	}
	return res
}
