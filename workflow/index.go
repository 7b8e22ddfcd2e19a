package workflow

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
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
//   - a build reads the summaries first (on every core, with a decoder of
//     their JSON by hand), which is all that lists need; the inverted index
//     of the words follows (indexWords), at the first text search or in
//     WarmIndex, without blocking queries meanwhile.
//   - the newest-first order is kept up to date as tickets come in, so a
//     list need not sort 100 000 summaries after every change.
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
func indexTicketTx(tx *bolt.Tx, t *Ticket, fresh *freshWords) error {
	return indexTicketCachedTx(tx, newIngestCache(tx), t, fresh)
}

// indexTicketCachedTx is indexTicketTx with the buckets in ic.
func indexTicketCachedTx(tx *bolt.Tx, ic *ingestCache, t *Ticket, fresh *freshWords) error {
	// ref is every key (bbolt copies keys) and the log's value; key the
	// log's key, in the same allocation.
	kb := ic.slab.keep(ic.slab.buf(len(t.Ref) + 8)[:len(t.Ref)+8])
	ref, key := kb[:len(t.Ref):len(t.Ref)], kb[len(t.Ref):]
	copy(ref, t.Ref)
	ib := ic.index
	var old Summary
	data := seekExact(ib, &ic.indexCursor, ref)
	indexed := data != nil // words are only written with a summary, which stays
	if data != nil && !decodeSummaryFast(data, &old, nil) {
		old = Summary{}
		if o := new(Summary); json.Unmarshal(data, o) == nil {
			old = *o
		}
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
	outbox := tx.Bucket(bucketOutbox)
	var one [1][]string
	newWords := one[:0]  // mostly one message's
	var freshList []byte // fresh.list, at newWords[freshAt]
	freshAt := 0
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
				if fresh != nil && fresh.seq == m.Seq { // just stored: no need to read it back
					freshList, freshAt = fresh.list, len(newWords)
					newWords = append(newWords, nil)
				} else if text, err := messageTextTx(tx, m.Seq); err == nil {
					newWords = append(newWords, Words(text))
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
	if len(newWords) > 0 {
		wb := ic.words
		wb.FillPercent = appendFill
		var have []byte
		if indexed {
			have = wb.Get(ref)
		}
		words, changed := freshList, true // a new ticket's: what mergeWords would make
		if freshList == nil || len(newWords) > 1 || len(have) > 0 {
			if freshList != nil {
				newWords[freshAt] = strings.Fields(string(freshList))
			}
			words, changed = mergeWords(have, newWords)
		}
		if changed {
			if err := wb.Put(ref, words); err != nil {
				return fmt.Errorf("index words of %s: %w", t.Ref, err)
			}
		}
	}
	lb := ic.log
	lb.FillPercent = sealedFill
	seq, err := lb.NextSequence()
	if err != nil {
		return fmt.Errorf("index log sequence: %w", err)
	}
	sum.Rev = seq
	binary.BigEndian.PutUint64(key, seq)
	if err := lb.Put(key, ref); err != nil {
		return fmt.Errorf("index log: %w", err)
	}
	if seq > indexLogKeep {
		binary.BigEndian.PutUint64(key, seq-indexLogKeep)
		if err := lb.Delete(key); err != nil {
			return fmt.Errorf("trim index log: %w", err)
		}
	}
	ib.FillPercent = appendFill
	// The field names, numbers and times take under 400 bytes: one
	// allocation, which the transaction keeps until it commits.
	size := 400 + len(sum.Ref) + len(sum.Mailbox) + len(sum.Subject) + len(sum.RequesterName) + len(sum.RequesterAddress) +
		len(sum.Org) + len(sum.Assignee) + len(sum.AssigneeName) + len(sum.Location) + len(sum.Session)
	data, ok := appendSummaryJSON(ic.slab.buf(size), &sum)
	if !ok {
		return putJSON(ib, ref, sum) // a time JSON cannot hold: its error
	}
	return ib.Put(ref, ic.slab.keep(data))
}

// appendSummaryJSON appends the JSON of s exactly as json.Marshal writes it
// (TestSummaryJSON); false when a time has no JSON (a year outside
// 0-9999).
func appendSummaryJSON(b []byte, s *Summary) ([]byte, bool) {
	str := func(key, v string, omitEmpty bool) {
		if v != "" || !omitEmpty {
			b = append(b, key...)
			b = appendJSONString(b, v)
		}
	}
	ok := true
	tm := func(key string, v time.Time, omitZero bool) {
		if v.IsZero() && omitZero {
			return
		}
		b = append(b, key...)
		b = append(b, '"')
		var err error
		if b, err = v.AppendText(b); err != nil {
			ok = false
		}
		b = append(b, '"')
	}
	str(`{"ref":`, s.Ref, false)
	str(`,"mailbox":`, s.Mailbox, false)
	str(`,"type":`, string(s.Type), false)
	str(`,"family":`, string(s.Family), false)
	str(`,"state":`, string(s.State), false)
	str(`,"subject":`, s.Subject, false)
	str(`,"requester_name":`, s.RequesterName, true)
	str(`,"requester_address":`, s.RequesterAddress, false)
	str(`,"org":`, s.Org, true)
	str(`,"assignee":`, s.Assignee, true)
	str(`,"assignee_name":`, s.AssigneeName, true)
	tm(`,"created":`, s.Created, false)
	tm(`,"updated":`, s.Updated, false)
	tm(`,"waiting":`, s.Waiting, true)
	tm(`,"first_answer":`, s.FirstAnswer, true)
	b = append(b, `,"messages":`...)
	b = strconv.AppendInt(b, int64(s.Messages), 10)
	tm(`,"appointment":`, s.Appointment, true)
	tm(`,"appointment_end":`, s.AppointmentEnd, true)
	str(`,"location":`, s.Location, true)
	str(`,"session":`, s.Session, true)
	if s.Bounced {
		b = append(b, `,"bounced":true`...)
	}
	if s.Flagged {
		b = append(b, `,"flagged":true`...)
	}
	if s.WordsSeq != 0 {
		b = append(b, `,"words_seq":`...)
		b = strconv.AppendUint(b, s.WordsSeq, 10)
	}
	b = append(b, `,"rev":`...)
	b = strconv.AppendUint(b, s.Rev, 10)
	b = append(b, '}')
	return b, ok
}

// appendJSONString appends s as a JSON string the way json.Marshal does:
// with <, > and & escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029
// escaped.
//
// Runs of bytes that stand for themselves are skipped 8 at a time
// (jsonSpecial8) and appended in one go; a byte of 0x80 or more starts a
// rune, which is decoded only when it is not a valid 2-byte one (é, ë).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	// Room for s and a few escapes at once, not doubling b line by line.
	b = append(slices.Grow(b, len(s)+len(s)/16+2), '"')
	start := 0
	for i := 0; i < len(s); {
		for i+8 <= len(s) {
			if m := jsonSpecial8(load64(s, i)); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		if 0xc2 <= c && c < 0xe0 && i+1 < len(s) && s[i+1]&0xc0 == 0x80 {
			i += 2 // U+0080 to U+07FF: valid, and nothing to escape
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonPlain reports which ASCII bytes json.Marshal writes as they are.
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = !strings.ContainsRune(`"\<>&`, rune(c))
	}
	return t
}()

// jsonSpecial8 has the top bit set of each byte of x (8 bytes of a string,
// the first in the low bits) that json.Marshal does not write as it is:
// below 0x20, ", \, <, >, &, or 0x80 and above. Bytes above the first
// such one may be set too; the lowest set bit is exact.
func jsonSpecial8(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	qa := x | 0x04*lo ^ 0x26*lo // 0 for " (0x22) and & (0x26)
	lg := x | 0x02*lo ^ 0x3e*lo // 0 for < (0x3c) and > (0x3e)
	bs := x ^ 0x5c*lo           // 0 for \
	return (x | (x-0x20*lo)&^x | (qa-lo)&^qa | (lg-lo)&^lg | (bs-lo)&^bs) & hi
}

// freshWords are the words of the message with sequence seq, which the
// transaction has just stored: computed before it began, outside the
// commit's critical path. list is wordList of its text; a new ticket
// stores it as it is.
type freshWords struct {
	seq  uint64
	list []byte
}

// answerPurpose reports whether an outbound mail of this purpose answers
// the requester (rather than notifying a leader).
func answerPurpose(p string) bool {
	return !strings.HasPrefix(p, "leider") && !strings.HasPrefix(p, "leader") && p != "bevestiging"
}

// Words splits text into unique lower-case words of letters and digits, in
// order of first appearance. (FuzzWords holds it to the plain version:
// strings.ToLower, strings.FieldsFunc, a map.)
//
// A word that is lower case in text already is a substring of it; the
// others are lower-cased into one buffer that becomes one string at the
// end. Until then words are refs (wordRef) into text or that buffer, kept
// in a pooled table, so a message costs two allocations: the result and
// the string of its lower-cased words.
func Words(text string) []string {
	ws := scanWords(text)
	out := make([]string, len(ws.order))
	var lowered string
	if len(ws.buf) > 0 {
		lowered = string(ws.buf)
	}
	for i, r := range ws.order {
		off, end := r.span()
		if r&refInBuf != 0 {
			out[i] = lowered[off:end]
		} else {
			out[i] = ws.text[off:end]
		}
	}
	ws.release()
	return out
}

// wordList is what a new ticket's words record holds: the first
// maxWordsPerTicket of Words(text), separated by spaces, in one
// allocation.
func wordList(text string) []byte {
	ws := scanWords(text)
	order := ws.order[:min(len(ws.order), maxWordsPerTicket)]
	n := max(len(order)-1, 0)
	for _, r := range order {
		n += int(r & 0xff)
	}
	list := make([]byte, 0, n)
	for i, r := range order {
		if i > 0 {
			list = append(list, ' ')
		}
		off, end := r.span()
		if r&refInBuf != 0 {
			list = append(list, ws.buf[off:end]...)
		} else {
			list = append(list, ws.text[off:end]...)
		}
	}
	ws.release()
	return list
}

// scanWords finds the words of text; the caller releases the wordScan.
//
// Plain ASCII is read 64 bytes at a time (scanBlock); what is next to a
// byte of 0x80 or more, and the last 7 bytes of text, go byte by byte
// (scanRun).
func scanWords(text string) *wordScan {
	ws := wordScans.Get().(*wordScan)
	ws.reset(text, len(text)/8)
	i := 0
	for i+8 <= len(text) {
		i = ws.scanBlock(i)
	}
	for i < len(text) {
		i = ws.scanRun(i)
	}
	return ws
}

// scanBlock adds the words in up to 64 bytes of text from base, where
// scanRun could begin, and returns where to go on. A bit per byte marks
// the ASCII letters and digits (asciiAlnum8), another the capitals; the
// words are the runs of the first. A word of up to 16 bytes is lower-cased
// and keyed (wordKey) without a loop over its bytes. A word that reaches
// the block's end starts the next block. A byte of 0x80 or more, with the
// word just before it, goes to scanRun (scanRuns), and the block goes on
// after it.
func (ws *wordScan) scanBlock(base int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	text := ws.text
	size := min(64, (len(text)-base)&^7)
	var x [9]uint64 // the block 8 bytes at a time, and 0 after it
	var alnum, upper, high uint64
	for j := range uint(size) / 8 {
		c := load64(text, base+8*int(j))
		a, u := asciiAlnum8(c)
		x[j] = c
		alnum |= gather8(a) << (8 * j & 63)
		upper |= gather8(u) << (8 * j & 63)
		high |= c
	}
	q := 128 // the first byte of 0x80 or more, if any
	if high&hi != 0 {
		q = nextHigh(&x, 0)
	}
	starts := alnum &^ (alnum << 1)
	for starts != 0 {
		s := bits.TrailingZeros64(starts)
		e := min(s+bits.TrailingZeros64(^alnum>>s), size)
		switch {
		case e >= q: // the word touches q, or comes after it
			end := ws.scanRuns(base+min(s, q)) - base
			if end >= size {
				return base + end
			}
			// The runs end at a byte below 0x80: go on from there.
			starts &= ^uint64(0) << end
			q = nextHigh(&x, end)
			continue
		case e == size && base+e < len(text):
			if s == 0 { // a word of 64 bytes or more, or one into the last 7
				return ws.scanRuns(base)
			}
			return base + s
		}
		starts &= starts - 1
		n := e - s
		if n < 2 {
			continue
		}
		up := upper>>s&(uint64(1)<<n-1) != 0
		if n > 16 {
			ws.addASCII(base+s, min(n, maxWordRunes), up)
			continue
		}
		// a and b as wordKey has them: the first 8 bytes, zero above the
		// word; the last 8 of a word of more than 8, else 0.
		a, b := extract8(&x, s), extract8(&x, max(e-8, s))
		mask, bmask := uint64(1)<<(8*min(n, 8))-1, uint64(0)
		if n > 8 {
			bmask = ^uint64(0)
		}
		a, b = a&mask, b&bmask
		if up {
			a, b = a|0x20*lo&mask, b|0x20*lo&bmask // lower case, and a digit as it is
		}
		h := shortWordHash(a, b, n)
		key := a
		if n > 8 {
			key = h
		}
		if up {
			ws.addUpperKey(n, a, b, key, h)
		} else {
			ws.addKey(textRef(base+s, n), key, h)
		}
	}
	if q < size {
		return ws.scanRuns(base + q)
	}
	return base + size
}

// nextHigh is the first byte of 0x80 or more in x from byte i on, or 128.
func nextHigh(x *[9]uint64, i int) int {
	const hi = 0x8080808080808080
	for j := i >> 3; j < 8; j++ {
		c := x[j] & hi
		if j == i>>3 {
			c &= ^uint64(0) << (i & 7 * 8)
		}
		if c != 0 {
			return 8*j + bits.TrailingZeros64(c)>>3
		}
	}
	return 128
}

// gather8 packs the top bits of the bytes of m into a byte, the first
// byte's in the low bit.
func gather8(m uint64) uint64 {
	return (m >> 7) * 0x0102040810204080 >> 56
}

// extract8 is the 8 bytes from byte i of x.
func extract8(x *[9]uint64, i int) uint64 {
	j, shift := i>>3, uint(i&7)*8
	return x[j]>>shift | x[j+1]<<(64-shift)
}

// scanRuns is scanRun from i until a byte below 0x80, where a block can
// begin.
func (ws *wordScan) scanRuns(i int) int {
	i = ws.scanRun(i)
	for i < len(ws.text) && ws.text[i] >= utf8.RuneSelf {
		i = ws.scanRun(i)
	}
	return i
}

// addUpperKey adds the word of n, 2 to 16, ASCII letters and digits with
// capitals, lower-cased: its first 8 bytes are a, its last 8 b (as
// wordKey has them); key and h are its key and hash.
func (ws *wordScan) addUpperKey(n int, a, b, key, h uint64) {
	mark := len(ws.buf)
	ws.buf = binary.LittleEndian.AppendUint64(ws.buf, a)
	if n > 8 {
		ws.buf = binary.LittleEndian.AppendUint64(ws.buf[:mark+n-8], b)
	}
	ws.buf = ws.buf[:mark+n]
	if !ws.addKey(refInBuf|textRef(mark, n), key, h) {
		ws.buf = ws.buf[:mark]
	}
}

// asciiAlnum8 has the top bit set of each byte of x (8 bytes of a string,
// the first in the low bits) that is an ASCII letter or digit, and of each
// that is an ASCII capital.
func asciiAlnum8(x uint64) (alnum, upper uint64) {
	// A byte below 0x80 plus one up to 0x80 stays in its byte, so each
	// range check of all 8 is two additions: the top bit of x+0x80-from
	// is set from from on, that of x+0x7f-to above to.
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	x7 := x &^ hi
	l := x7 | 0x20*lo // a capital as its small letter
	alnum = (l+(0x80-'a')*lo)&^(l+(0x7f-'z')*lo) | (x7+(0x80-'0')*lo)&^(x7+(0x7f-'9')*lo)
	upper = (x7 + (0x80-'A')*lo) &^ (x7 + (0x7f-'Z')*lo)
	return alnum &^ x & hi, upper &^ x & hi
}

// scanRun is scanWords at text[i:], byte by byte: it adds the words of
// the run of letters and digits there and returns its end, or skips one
// byte when there is none.
func (ws *wordScan) scanRun(i int) int {
	text := ws.text
	start, class := i, uint8(0)
	for i < len(text) {
		k := wordClass[text[i]]
		if k&wordASCII != 0 {
			class |= k
			i++
			continue
		}
		if k == 0 {
			break
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if notWordRune(r) {
			break
		}
		class |= wordNonASCII
		i += size
	}
	switch n := i - start; {
	case n == 0:
		i++ // a separator: ASCII, or the first byte of one (DecodeRune resyncs)
	case n < 2:
	case class&wordNonASCII == 0:
		ws.addASCII(start, min(n, maxWordRunes), class&wordUpper != 0)
	default:
		ws.lowerRun(start, i)
	}
	return i
}

// addASCII adds the word text[start:start+n] of ASCII letters and digits,
// lower-cased when upper.
func (ws *wordScan) addASCII(start, n int, upper bool) {
	if !upper {
		ws.add(textRef(start, n))
		return
	}
	mark := len(ws.buf)
	ws.buf = append(ws.buf, ws.text[start:start+n]...)
	for j := mark; j < len(ws.buf); j++ {
		ws.buf[j] |= 0x20 // lower case, and a digit as it is
	}
	ws.addBuf(mark)
}

// The classes of a byte in wordClass.
const (
	wordASCII    = 1 << iota // an ASCII letter or digit
	wordUpper                // an ASCII capital (with wordASCII)
	wordNonASCII             // 0x80 or more: a rune to decode
)

// wordClass sorts bytes for scanRun; 0 is an ASCII separator.
var wordClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
			t[c] = wordASCII
		case 'A' <= c && c <= 'Z':
			t[c] = wordASCII | wordUpper
		case c >= utf8.RuneSelf:
			t[c] = wordNonASCII
		}
	}
	return t
}()

func notWordRune(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// wordRef is a word of Words: its length in the low 8 bits (at most
// maxWordRunes runes of 4 bytes), its offset above them, and the top bit
// set when it lies in wordScan.buf rather than in the text. 0 is no word.
type wordRef uint64

const refInBuf = wordRef(1) << 63

func textRef(off, n int) wordRef { return wordRef(off)<<8 | wordRef(n) }

func (r wordRef) span() (off, end int) {
	off = int(r &^ refInBuf >> 8)
	return off, off + int(r&0xff)
}

// wordScan is the working state of one Words call, reused through
// wordScans.
type wordScan struct {
	text  string
	buf   []byte    // lower-cased words
	order []wordRef // the words in order of first appearance
	// slots is a set of words with open addressing on wordKey's hash:
	// Words adds hundreds of words per message, which a Go map makes its
	// biggest cost.
	slots []wordSlot
	n     int
}

var wordScans = sync.Pool{New: func() any { return new(wordScan) }}

func (ws *wordScan) reset(text string, words int) {
	size := 64
	for size < 2*words {
		size <<= 1
	}
	if cap(ws.slots) < size {
		ws.slots = make([]wordSlot, size)
	} else {
		ws.slots = ws.slots[:size]
		clear(ws.slots)
	}
	ws.text, ws.buf, ws.order, ws.n = text, ws.buf[:0], ws.order[:0], 0
}

// release puts ws back in the pool.
func (ws *wordScan) release() {
	ws.text = ""
	// A huge message leaves no huge buffers behind.
	if cap(ws.slots) > 1<<15 {
		ws.slots = nil
	}
	if cap(ws.buf) > 1<<16 {
		ws.buf = nil
	}
	if cap(ws.order) > 1<<14 {
		ws.order = nil
	}
	wordScans.Put(ws)
}

// lowerRun adds the words of text[start:end], a run of letters and digits
// with some not ASCII: lower-cased as strings.ToLower does (rune by rune),
// which can make separators of some.
func (ws *wordScan) lowerRun(start, end int) {
	field, runes, changed, mark := -1, 0, false, 0
	done := func() {
		switch {
		case field < 0:
		case runes < 2:
			ws.buf = ws.buf[:mark]
		case !changed: // as in the text: refer to it
			n := len(ws.buf) - mark
			ws.buf = ws.buf[:mark]
			ws.add(textRef(field, n))
		default:
			ws.addBuf(mark)
		}
		field = -1
	}
	for i := start; i < end; {
		r, size := utf8.DecodeRuneInString(ws.text[i:])
		lr := unicode.ToLower(r)
		if notWordRune(lr) {
			done()
			i += size
			continue
		}
		if field < 0 {
			field, runes, changed, mark = i, 0, false, len(ws.buf)
		}
		if runes++; runes <= maxWordRunes {
			ws.buf = utf8.AppendRune(ws.buf, lr)
			changed = changed || lr != r
		}
		i += size
	}
	done()
}

// addBuf adds the word at buf[mark:], or drops it from buf when it is
// there already.
func (ws *wordScan) addBuf(mark int) {
	if !ws.add(refInBuf | textRef(mark, len(ws.buf)-mark)) {
		ws.buf = ws.buf[:mark]
	}
}

// wordSlot is a word of wordScan's set, with its key (wordKey); ref 0 is
// free.
type wordSlot struct {
	ref wordRef
	key uint64
}

// wordKeys are the random keys of wordKey's hash, so that no one can
// write a mail whose words collide.
var wordKeys = [3]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64()}

// wordKey keys a word of wordScan's set. The key of a word of up to 8
// bytes is the word as a little-endian number (zero above it), so that
// words of the same length are equal when their keys are; that of a longer
// one is its hash h. h is cheaper than maphash for short words: the word
// read 8 or 4 bytes at a time, mixed by 128-bit multiplication (as wyhash
// does).
func wordKey[T string | []byte](w T) (key, h uint64) {
	n := len(w)
	var a, b uint64
	switch {
	case n > 16:
		seed := wordKeys[2] ^ uint64(n)
		i := 0
		for ; n-i > 16; i += 16 {
			seed = wordMix(load64(w, i)^wordKeys[0], load64(w, i+8)^seed)
		}
		h = wordMix(load64(w, n-16)^wordKeys[0], load64(w, n-8)^seed)
		return h, h
	case n > 8:
		a, b = load64(w, 0), load64(w, n-8)
		h = shortWordHash(a, b, n)
		return h, h
	case n >= 4:
		a = load32(w, 0) | load32(w, n-4)<<(8*(n-4))
	case n > 0:
		a = uint64(w[0]) | uint64(w[n>>1])<<(8*(n>>1)) | uint64(w[n-1])<<(8*(n-1))
	}
	return a, shortWordHash(a, 0, n)
}

// shortWordHash is the hash of a word of n <= 16 bytes whose first 8 bytes
// are a (zero above the word) and last 8 b (0 for a word of up to 8).
func shortWordHash(a, b uint64, n int) uint64 {
	return wordMix(a^wordKeys[0], b^wordKeys[1]^uint64(n))
}

func wordMix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// load64 is s[i:i+8] as a little-endian number.
func load64[T string | []byte](s T, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// load32 is s[i:i+4] as a little-endian number.
func load32[T string | []byte](s T, i int) uint64 {
	s = s[i : i+4]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

func (ws *wordScan) equal(a, b wordRef) bool {
	if a&0xff != b&0xff {
		return false
	}
	aOff, aEnd := a.span()
	bOff, bEnd := b.span()
	switch {
	case a&refInBuf == 0 && b&refInBuf == 0:
		return ws.text[aOff:aEnd] == ws.text[bOff:bEnd]
	case a&refInBuf != 0 && b&refInBuf != 0:
		return string(ws.buf[aOff:aEnd]) == string(ws.buf[bOff:bEnd])
	case a&refInBuf != 0:
		return string(ws.buf[aOff:aEnd]) == ws.text[bOff:bEnd]
	default:
		return ws.text[aOff:aEnd] == string(ws.buf[bOff:bEnd])
	}
}

// add adds w and reports whether it was new.
func (ws *wordScan) add(w wordRef) bool {
	off, end := w.span()
	var key, h uint64
	if w&refInBuf != 0 {
		key, h = wordKey(ws.buf[off:end])
	} else {
		key, h = wordKey(ws.text[off:end])
	}
	return ws.addKey(w, key, h)
}

// addKey adds w, with its key and hash (wordKey), and reports whether it
// was new.
func (ws *wordScan) addKey(w wordRef, key, h uint64) bool {
	if 2*(ws.n+1) > len(ws.slots) {
		ws.grow()
	}
	mask := uint64(len(ws.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch o := &ws.slots[i]; {
		case o.ref == 0:
			*o = wordSlot{w, key}
			ws.n++
			ws.order = append(ws.order, w)
			return true
		case o.key == key && o.ref&0xff == w&0xff && (w&0xff <= 8 || ws.equal(o.ref, w)):
			return false
		}
	}
}

// grow doubles the set.
func (ws *wordScan) grow() {
	old := ws.slots
	ws.slots = make([]wordSlot, 2*len(old))
	mask := uint64(len(ws.slots) - 1)
	for _, o := range old {
		if o.ref == 0 {
			continue
		}
		h := o.key // a word of more than 8 bytes
		if n := int(o.ref & 0xff); n <= 8 {
			h = shortWordHash(o.key, 0, n)
		}
		i := h & mask
		for ws.slots[i].ref != 0 {
			i = (i + 1) & mask
		}
		ws.slots[i] = o
	}
}

// mergeWords adds lists of words (each from Words) to a space-separated
// word list. changed is false when have holds words and none are added:
// then have need not be written again.
func mergeWords(have []byte, lists [][]string) (merged []byte, changed bool) {
	if len(have) == 0 && len(lists) == 1 { // a new ticket: Words are unique already
		ws := lists[0][:min(len(lists[0]), maxWordsPerTicket)]
		n := max(len(ws)-1, 0)
		for _, w := range ws {
			n += len(w)
		}
		merged = make([]byte, 0, n)
		for i, w := range ws {
			if i > 0 {
				merged = append(merged, ' ')
			}
			merged = append(merged, w...)
		}
		return merged, true
	}
	// have as strings.Fields splits it, counted without copying.
	fields, long := 0, false
	for w := range bytes.FieldsSeq(have) {
		fields++
		long = long || len(w) > 0xff
	}
	if fields >= maxWordsPerTicket {
		return have, false
	}
	if long { // no word of Words: a wordRef cannot hold it
		return mergeWordsPlain(have, lists)
	}
	// The merged list is built in a wordScan's buf, its words the set.
	size, more := len(have), 0
	for _, list := range lists {
		for _, w := range list {
			size += len(w) + 1
		}
		more += len(list)
	}
	ws := wordScans.Get().(*wordScan)
	ws.reset("", fields+min(more, maxWordsPerTicket))
	pooled := ws.buf
	ws.buf = make([]byte, 0, size)
	for w := range bytes.FieldsSeq(have) {
		if len(ws.buf) > 0 {
			ws.buf = append(ws.buf, ' ')
		}
		mark := len(ws.buf)
		ws.buf = append(ws.buf, w...)
		ws.add(refInBuf | textRef(mark, len(w)))
	}
	n := fields
lists:
	for _, list := range lists {
		for _, w := range list {
			if n >= maxWordsPerTicket {
				break lists
			}
			if len(w) > 0xff {
				ws.buf = pooled
				ws.release()
				return mergeWordsPlain(have, lists)
			}
			sep := len(ws.buf)
			if sep > 0 {
				ws.buf = append(ws.buf, ' ')
			}
			mark := len(ws.buf)
			ws.buf = append(ws.buf, w...)
			if ws.add(refInBuf | textRef(mark, len(w))) {
				n++
			} else {
				ws.buf = ws.buf[:sep]
			}
		}
	}
	merged = ws.buf
	ws.buf = pooled
	ws.release()
	return merged, n > fields || len(have) == 0
}

// mergeWordsPlain is mergeWords with a map, for words too long for a
// wordRef (and FuzzMergeWords).
func mergeWordsPlain(have []byte, lists [][]string) ([]byte, bool) {
	words := strings.Fields(string(have))
	if len(words) >= maxWordsPerTicket {
		return have, false
	}
	seen := make(map[string]bool, len(words))
	for _, w := range words {
		seen[w] = true
	}
	n := len(words)
	for _, list := range lists {
		for _, w := range list {
			if len(words) >= maxWordsPerTicket {
				break
			}
			if !seen[w] {
				seen[w] = true
				words = append(words, w)
			}
		}
	}
	return []byte(strings.Join(words, " ")), len(words) > n || len(have) == 0
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
	// After, when set, starts the page at the first match that comes after
	// this position in the newest-first order, instead of at Offset.
	After *QueuePos
}

// QueuePos is a place in the newest-first order (SortNewest): tickets are
// ordered by Created, then Ref, both descending. It stays valid when the
// ticket at it changes or goes.
type QueuePos struct {
	Created time.Time
	Ref     string
}

// Pos returns the position of s in the newest-first order.
func (s *Summary) Pos() QueuePos { return QueuePos{Created: s.Created, Ref: s.Ref} }

// compareNewest orders ticket a before b when a is newer (or as new with
// the greater ref).
func compareNewest(aCreated time.Time, aRef string, bCreated time.Time, bRef string) int {
	if c := bCreated.Compare(aCreated); c != 0 {
		return c
	}
	return cmp.Compare(bRef, aRef)
}

// QueueResult is one page of the queue.
type QueueResult struct {
	Rows  []Summary
	Total int // tickets matching the whole query
	Start int // matches before the first row
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
	if slices.ContainsFunc(strings.Fields(q.Text), func(t string) bool { return utf8.RuneCountInString(t) >= 2 }) {
		if err := s.indexWords(); err != nil {
			return QueueResult{}, err
		}
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

// WarmIndex builds the in-memory index now rather than at the first query:
// first the summaries, then the words of the mail for text search. Queries
// without text are answered as soon as the summaries are in.
func (s *Store) WarmIndex() error {
	if err := s.refreshIndex(); err != nil {
		return err
	}
	return s.indexWords()
}

// indexWords builds the postings of the body words if they are not built
// yet. It reads and splits the words without holding the index's lock, so
// queries and updates go on meanwhile, and takes the write lock to put them
// in with the words of the tickets that changed in the meantime.
func (s *Store) indexWords() error {
	x := &s.idx
	x.mu.Lock()
	for x.wordsBusy {
		// Another call is building them: wait for it.
		done := x.wordsDone
		x.mu.Unlock()
		<-done
		x.mu.Lock()
	}
	if x.words || !x.built {
		x.mu.Unlock()
		return nil
	}
	x.wordsBusy, x.wordsDone, x.touched = true, make(chan struct{}), nil
	gen := x.gen
	slotOf := make(map[string]int32, len(x.slots))
	parts := make([]keyParts, len(x.slots))
	for i := range x.slots {
		slotOf[x.slots[i].sum.Ref] = int32(i)
		parts[i] = x.slots[i].sum.keyParts()
	}
	x.mu.Unlock()

	// The slots' keys are made while the words are read and split.
	keys := make([]string, len(parts))
	var wg sync.WaitGroup
	for p := range 2 {
		wg.Go(func() {
			for i := p; i < len(parts); i += 2 {
				keys[i] = keyOf(parts[i])
			}
		})
	}
	perSlot := make([][]byte, len(slotOf))
	var w wordPostings
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketTicketWords).ForEach(func(k, v []byte) error {
			if i, ok := slotOf[string(k)]; ok {
				perSlot[i] = v
			}
			return nil
		}); err != nil {
			return err
		}
		w = splitWords(perSlot)
		return nil
	})
	wg.Wait()

	x.mu.Lock()
	defer x.mu.Unlock()
	touched := x.touched
	x.wordsBusy, x.touched = false, nil
	close(x.wordsDone)
	if err != nil {
		return fmt.Errorf("index words: %w", err)
	}
	if x.gen != gen {
		return nil // rebuilt meanwhile: the next text query builds them again
	}
	x.wordPostings = w
	x.words = true
	// put gave the slots it changed meanwhile their key.
	changed := make(map[int32]bool, len(touched))
	for _, slot := range touched {
		changed[slot] = true
	}
	for i, k := range keys {
		if !changed[int32(i)] {
			x.slots[i].key = k
		}
	}
	if len(touched) == 0 {
		return nil
	}
	// Slots put while the words were read: add what they have now.
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTicketWords)
		for _, slot := range touched {
			x.addWords(slot, string(b.Get([]byte(x.slots[slot].sum.Ref))))
		}
		return nil
	})
	if err != nil {
		x.words = false
		return fmt.Errorf("index words: %w", err)
	}
	return nil
}

// wordPostings is an inverted index of body words.
type wordPostings struct {
	ids      map[string]int32
	vocab    []string  // word id -> word
	postings [][]int32 // word id -> slots, ascending
}

// id returns w's word id, giving it one when it is new.
func (wp *wordPostings) id(w string) int32 {
	id, ok := wp.ids[w]
	if !ok {
		if wp.ids == nil {
			wp.ids = map[string]int32{}
		}
		id = int32(len(wp.vocab))
		wp.ids[w] = id
		wp.vocab = append(wp.vocab, w)
		wp.postings = append(wp.postings, nil)
	}
	return id
}

// splitWords builds the postings of the space-separated word lists of the
// slots. Each core splits its own range of slots; the ranges are joined in
// order, so postings stay ascending.
func splitWords(perSlot [][]byte) wordPostings {
	parts := make([]wordPostings, max(1, min(runtime.GOMAXPROCS(0), len(perSlot)/4096)))
	var wg sync.WaitGroup
	for p := range parts {
		pt := &parts[p]
		from, to := len(perSlot)*p/len(parts), len(perSlot)*(p+1)/len(parts)
		wg.Go(func() {
			for i := from; i < to; i++ {
				for w := range strings.FieldsSeq(string(perSlot[i])) {
					id := pt.id(w)
					if ps := pt.postings[id]; len(ps) == 0 || ps[len(ps)-1] != int32(i) {
						pt.postings[id] = append(ps, int32(i))
					}
				}
			}
		})
	}
	wg.Wait()
	out := wordPostings{ids: map[string]int32{}}
	for _, pt := range parts {
		for id, w := range pt.vocab {
			g, ok := out.ids[w]
			if !ok {
				w = strings.Clone(w) // not the whole word list it was cut from
				out.ids[w] = int32(len(out.vocab))
				out.vocab = append(out.vocab, w)
				out.postings = append(out.postings, pt.postings[id])
				continue
			}
			out.postings[g] = append(out.postings[g], pt.postings[id]...)
		}
	}
	return out
}

// ticketIndex is the in-memory index; its zero value is empty and unbuilt.
type ticketIndex struct {
	mu           sync.RWMutex
	built        bool
	lastSeq      uint64
	slots        []indexSlot
	byRef        map[string]int32
	order        map[QueueSort][]int32
	inserted     int // slots inserted into order[SortNewest] since it was sorted
	wordPostings     // the body words of every slot, once words is true
	// words: the postings hold every slot's words. They are built after the
	// summaries (indexWords), which is all a query without text needs.
	// While wordsBusy, put lists the slots it changes in touched, for the
	// build to add; gen counts buildTx runs.
	words     bool
	wordsBusy bool
	wordsDone chan struct{} // closed when the running build ends
	touched   []int32
	gen       uint64
}

type indexSlot struct {
	sum Summary
	// key is the lower-case ref, subject, requester, organisation and
	// assignee, for text search; a build leaves it to indexWords.
	key string
}

func slotKey(s *Summary) string { return keyOf(s.keyParts()) }

// keyParts are the fields of a slot's key.
type keyParts [7]string

func (s *Summary) keyParts() keyParts {
	return keyParts{s.Ref, s.Subject, s.RequesterName, s.RequesterAddress, s.Org, s.AssigneeName, s.Assignee}
}

func keyOf(p keyParts) string { return strings.ToLower(strings.Join(p[:], "\x00")) }

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
			if err := indexTicketTx(tx, t, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// buildTx reads every summary into the index; the words and the slots'
// keys follow (indexWords). The summaries are decoded on every core, each over its own
// range of slots.
func (x *ticketIndex) buildTx(tx *bolt.Tx) error {
	x.wordPostings, x.order = wordPostings{}, nil
	x.built, x.words = false, false
	x.gen++
	var refs, raw [][]byte
	c := tx.Bucket(bucketTicketIndex).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		refs, raw = append(refs, k), append(raw, v)
	}
	x.slots = make([]indexSlot, len(raw))
	errs := make([]error, max(1, min(runtime.GOMAXPROCS(0), len(raw)/4096)))
	var wg sync.WaitGroup
	for p := range errs {
		from, to := len(raw)*p/len(errs), len(raw)*(p+1)/len(errs)
		wg.Go(func() {
			intern := map[string]string{}
			for i := from; i < to; i++ {
				sl := &x.slots[i]
				if err := decodeSummary(raw[i], &sl.sum, intern); err != nil {
					errs[p] = fmt.Errorf("decode %q: %w", refs[i], err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	x.byRef = make(map[string]int32, len(x.slots))
	for i := range x.slots {
		x.byRef[x.slots[i].sum.Ref] = int32(i)
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
	moved := !ok
	if ok {
		if x.slots[slot].sum.Rev > sum.Rev {
			return
		}
		old := &x.slots[slot].sum
		moved = !old.Created.Equal(sum.Created) || old.Ref != sum.Ref
		x.slots[slot] = indexSlot{sum: sum, key: slotKey(&sum)}
	} else {
		slot = int32(len(x.slots))
		x.slots = append(x.slots, indexSlot{sum: sum, key: slotKey(&sum)})
		x.byRef[sum.Ref] = slot
	}
	x.reorder(slot, !ok, moved)
	switch {
	case x.words:
		x.addWords(slot, string(words))
	case x.wordsBusy:
		x.touched = append(x.touched, slot)
	}
}

// addWords adds slot to the postings of the space-separated words.
func (x *ticketIndex) addWords(slot int32, words string) {
	for w := range strings.FieldsSeq(words) {
		id := x.id(w)
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

// reorder keeps the cached orders right after slot changed. The
// newest-first order depends on Created and Ref only, which an update does
// not change: a new ticket is inserted into it (up to maxInserts between
// two sorts, then it is sorted again), an update leaves it alone. The other
// orders are sorted again at their next use.
func (x *ticketIndex) reorder(slot int32, isNew, moved bool) {
	const maxInserts = 64
	newest, ok := x.order[SortNewest]
	for by := range x.order {
		if by != SortNewest {
			delete(x.order, by)
		}
	}
	switch {
	case !ok || !moved:
	case isNew && x.inserted < maxInserts:
		s := &x.slots[slot].sum
		i, _ := slices.BinarySearchFunc(newest, s, func(o int32, s *Summary) int {
			return compareNewest(x.slots[o].sum.Created, x.slots[o].sum.Ref, s.Created, s.Ref)
		})
		x.order[SortNewest] = slices.Insert(newest, i, slot)
		x.inserted++
	default:
		delete(x.order, SortNewest)
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
	newest := func(a, b *Summary) int { return compareNewest(a.Created, a.Ref, b.Created, b.Ref) }
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
	if by == SortNewest {
		x.inserted = 0
	}
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
		inPage := res.Total >= q.Offset
		if q.After != nil {
			inPage = compareNewest(q.After.Created, q.After.Ref, s.Created, s.Ref) < 0
		}
		if inPage && (q.Limit <= 0 || len(res.Rows) < q.Limit) {
			if len(res.Rows) == 0 {
				res.Start = res.Total
			}
			res.Rows = append(res.Rows, *s)
		}
		res.Total++
	}
	if len(res.Rows) == 0 {
		res.Start = res.Total
		if q.After == nil {
			res.Start = min(q.Offset, res.Total)
		}
	}
	return res
}

// decodeSummary decodes a stored summary. Building the index decodes one
// per ticket, so the JSON that json.Marshal writes is read by hand; any
// other form (an escape, null, an unknown key) goes to json.Unmarshal.
// intern, if not nil, shares the strings of fields with few values
// (mailbox, type, state, organisation, ...) between summaries.
func decodeSummary(data []byte, s *Summary, intern map[string]string) error {
	if decodeSummaryFast(data, s, intern) {
		return nil
	}
	*s = Summary{}
	return json.Unmarshal(data, s)
}

func decodeSummaryFast(data []byte, s *Summary, intern map[string]string) bool {
	d := summaryScanner{data: data, intern: intern}
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return d.end()
	}
	for {
		key, ok := d.str()
		if !ok || !d.byte(':') {
			return false
		}
		var str, shared *string
		var tm *time.Time
		var flag *bool
		switch key {
		case "ref":
			str = &s.Ref
		case "mailbox":
			shared = &s.Mailbox
		case "type":
			shared = (*string)(&s.Type)
		case "family":
			shared = (*string)(&s.Family)
		case "state":
			shared = (*string)(&s.State)
		case "subject":
			str = &s.Subject
		case "requester_name":
			str = &s.RequesterName
		case "requester_address":
			str = &s.RequesterAddress
		case "org":
			shared = &s.Org
		case "assignee":
			shared = &s.Assignee
		case "assignee_name":
			shared = &s.AssigneeName
		case "location":
			shared = &s.Location
		case "session":
			shared = &s.Session
		case "created":
			tm = &s.Created
		case "updated":
			tm = &s.Updated
		case "waiting":
			tm = &s.Waiting
		case "first_answer":
			tm = &s.FirstAnswer
		case "appointment":
			tm = &s.Appointment
		case "appointment_end":
			tm = &s.AppointmentEnd
		case "bounced":
			flag = &s.Bounced
		case "flagged":
			flag = &s.Flagged
		case "messages":
			n, err := strconv.ParseInt(d.number(), 10, 0)
			if err != nil {
				return false
			}
			s.Messages = int(n)
		case "words_seq", "rev":
			n, err := strconv.ParseUint(d.number(), 10, 64)
			if err != nil {
				return false
			}
			if key == "rev" {
				s.Rev = n
			} else {
				s.WordsSeq = n
			}
		default:
			return false
		}
		switch {
		case str != nil:
			if *str, ok = d.str(); !ok {
				return false
			}
		case shared != nil:
			if *shared, ok = d.sharedStr(); !ok {
				return false
			}
		case tm != nil:
			v, ok := d.str()
			if !ok || tm.UnmarshalText([]byte(v)) != nil {
				return false
			}
		case flag != nil:
			switch {
			case d.literal("true"):
				*flag = true
			case d.literal("false"):
				*flag = false
			default:
				return false
			}
		}
		if d.byte('}') {
			return d.end()
		}
		if !d.byte(',') {
			return false
		}
	}
}

// summaryScanner reads the simple JSON of decodeSummaryFast.
type summaryScanner struct {
	data   []byte
	i      int
	intern map[string]string
}

func (d *summaryScanner) space() {
	for d.i < len(d.data) && (d.data[d.i] == ' ' || d.data[d.i] == '\n' || d.data[d.i] == '\r' || d.data[d.i] == '\t') {
		d.i++
	}
}

// byte consumes c, after white space, if it is next.
func (d *summaryScanner) byte(c byte) bool {
	d.space()
	if d.i < len(d.data) && d.data[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *summaryScanner) end() bool {
	d.space()
	return d.i == len(d.data)
}

// str reads a string without escapes or control characters, in valid
// UTF-8.
func (d *summaryScanner) str() (string, bool) {
	v, ok := d.strBytes()
	return string(v), ok
}

// sharedStr is str through the intern map.
func (d *summaryScanner) sharedStr() (string, bool) {
	v, ok := d.strBytes()
	if !ok || d.intern == nil {
		return string(v), ok
	}
	if s, found := d.intern[string(v)]; found {
		return s, true
	}
	s := string(v)
	if len(d.intern) < 10000 {
		d.intern[s] = s
	}
	return s, true
}

func (d *summaryScanner) strBytes() ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
	}
	start := d.i
	for ; d.i < len(d.data); d.i++ {
		switch c := d.data[d.i]; {
		case c == '"':
			v := d.data[start:d.i]
			d.i++
			return v, utf8.Valid(v)
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// number returns the digits (and sign) that follow; what is no integer
// fails to parse.
func (d *summaryScanner) number() string {
	d.space()
	start := d.i
	for d.i < len(d.data) && (d.data[d.i] == '-' || '0' <= d.data[d.i] && d.data[d.i] <= '9') {
		d.i++
	}
	if d.i < len(d.data) && (d.data[d.i] == '.' || d.data[d.i] == 'e' || d.data[d.i] == 'E') {
		return "x" // a fraction or exponent: let json.Unmarshal decide
	}
	n := d.data[start:d.i]
	if len(n) > 1 && n[0] == '0' || len(n) > 2 && n[0] == '-' && n[1] == '0' {
		return "x" // JSON has no leading zeros
	}
	return string(n)
}

func (d *summaryScanner) literal(lit string) bool {
	d.space()
	if bytes.HasPrefix(d.data[d.i:], []byte(lit)) {
		d.i += len(lit)
		return true
	}
	return false
}
