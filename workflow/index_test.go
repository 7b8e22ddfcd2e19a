package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/poraad/loket/intake"
)

func refsOf(rows []Summary) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Ref)
	}
	return out
}

func TestWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"De clinic, de Clinic!", []string{"de", "clinic"}},
		{"Financiën 2026 — OPP/vo", []string{"financiën", "2026", "opp", "vo"}},
		{"a b c", nil},
		{"e-mail: info@swv.nl", []string{"mail", "info", "swv", "nl"}},
	}
	for _, tc := range tests {
		if got := Words(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Words(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got, changed := mergeWords([]byte("de clinic"), [][]string{Words("Clinic over het plan")}); string(got) != "de clinic over het plan" || !changed {
		t.Errorf("mergeWords: %q %v", got, changed)
	}
	if got, changed := mergeWords([]byte("de clinic"), [][]string{Words("De clinic")}); string(got) != "de clinic" || changed {
		t.Errorf("mergeWords, nothing new: %q %v", got, changed)
	}
	if got, changed := mergeWords(nil, [][]string{Words("De clinic, de Clinic!")}); string(got) != "de clinic" || !changed {
		t.Errorf("mergeWords, a new ticket: %q %v", got, changed)
	}
	if got, changed := mergeWords(nil, [][]string{Words("")}); got == nil || len(got) != 0 || !changed {
		t.Errorf("mergeWords, a new ticket without words: %q %v", got, changed)
	}
}

func TestQueueIndex(t *testing.T) {
	f := newFixture(t)
	var refs []string
	for i, c := range []struct {
		typ     intake.Type
		mailbox string
		org     string
		text    string
	}{
		{intake.TypeClinic, "ondersteuning", "SWV Duinstreek", "Graag een clinic over financiën."},
		{intake.TypePraktijktoets, "praktijktoets", "SWV Rivierenland", "Aanmelding spiegelteam."},
		{intake.TypeTraining, "ondersteuning", "SWV Veluwe", "Training kwartiermakers."},
	} {
		f.now = f.now.Add(time.Hour)
		m := msg(fmt.Sprintf("q%d@swv.example", i), fmt.Sprintf("aanvrager%d@swv.example", i), "Verzoek "+string(c.typ))
		m.Text = c.text
		cl := newClass(c.typ)
		cl.Org = c.org
		refs = append(refs, f.ingest(c.mailbox, m, cl).TicketRef)
	}
	tests := []struct {
		name string
		q    QueueQuery
		want []string
	}{
		{"all open, newest first", QueueQuery{}, []string{refs[2], refs[1], refs[0]}},
		{"oldest waiting first", QueueQuery{Sort: SortWaiting}, []string{refs[0], refs[1], refs[2]}},
		{"type", QueueQuery{Type: intake.TypeClinic}, []string{refs[0]}},
		{"mailbox", QueueQuery{Mailbox: "praktijktoets"}, []string{refs[1]}},
		{"body word part", QueueQuery{Text: "FINANC"}, []string{refs[0]}},
		{"org and body", QueueQuery{Text: "veluwe kwartier"}, []string{refs[2]}},
		{"no match", QueueQuery{Text: "veluwe spiegelteam"}, nil},
		{"reference", QueueQuery{Text: refs[1]}, []string{refs[1]}},
		{"requester", QueueQuery{Text: "aanvrager2@"}, []string{refs[2]}},
		{"closed", QueueQuery{State: StateClosed}, nil},
		{"paged", QueueQuery{Offset: 1, Limit: 1}, []string{refs[1]}},
		{"unassigned", QueueQuery{Unassigned: true}, []string{refs[2], refs[1], refs[0]}},
		{"someone's", QueueQuery{Assignee: "x@poraad.nl"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.store.Queue(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := refsOf(res.Rows); !slices.Equal(got, tc.want) {
				t.Errorf("rows %v, want %v", got, tc.want)
			}
			if tc.q.Limit == 0 && res.Total != len(tc.want) {
				t.Errorf("total %d, want %d", res.Total, len(tc.want))
			}
		})
	}
	res, _ := f.store.Queue(QueueQuery{Limit: 1})
	if res.Total != 3 || res.ByState[StateAcknowledged] != 2 || res.ByState[StateRegistered] != 1 || res.Indexed != 3 || len(res.Rows) != 1 {
		t.Errorf("total %d, by state %v, indexed %d", res.Total, res.ByState, res.Indexed)
	}

	// A change is seen by the next query (the log), words only grow.
	if _, err := f.store.Retype(refs[0], intake.TypeTraining, "l@poraad.nl", "", f.now); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Hour)
	reply := msg("q9@swv.example", "aanvrager0@swv.example", "Re: Verzoek")
	reply.Text = "Ook de tweedaagse graag."
	f.ingest("ondersteuning", reply, intake.Classification{Kind: intake.KindFollowUp, TicketRef: refs[0]})
	for _, q := range []QueueQuery{{Type: intake.TypeTraining, Text: "tweedaagse financ"}} {
		res, _ := f.store.Queue(q)
		if got := refsOf(res.Rows); !slices.Equal(got, []string{refs[0]}) {
			t.Errorf("after changes %+v: %v", q, got)
		}
	}

	// A fresh store over the same file builds the same index.
	path := f.store.Path()
	f.store.Close()
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	f.store = st
	t.Cleanup(func() { st.Close() })
	res, _ = st.Queue(QueueQuery{Text: "tweedaagse"})
	if got := refsOf(res.Rows); !slices.Equal(got, []string{refs[0]}) {
		t.Errorf("rebuilt: %v", got)
	}
}

func TestQueueIndexRebuildsAndBackfills(t *testing.T) {
	f := newFixture(t)
	a := f.ingest("ondersteuning", msg("a@swv.example", "a@swv.example", "eerste"), newClass(intake.TypeClinic)).TicketRef
	if res, _ := f.store.Queue(QueueQuery{}); res.Total != 1 {
		t.Fatalf("total %d", res.Total)
	}
	// The index falls behind further than the log reaches: it rebuilds.
	if err := f.store.db.Update(func(tx *bolt.Tx) error {
		lb := tx.Bucket(bucketIndexLog)
		if err := lb.SetSequence(lb.Sequence() + indexLogKeep); err != nil {
			return err
		}
		return lb.Delete(itob(1))
	}); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	b := f.ingest("ondersteuning", msg("b@swv.example", "b@swv.example", "tweede"), newClass(intake.TypeClinic)).TicketRef
	res, err := f.store.Queue(QueueQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := refsOf(res.Rows); !slices.Equal(got, []string{b, a}) {
		t.Errorf("after the log gap: %v", got)
	}

	// Tickets stored without summary (an older Loket) are indexed at the
	// first query.
	if err := f.store.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTicketIndex).Delete([]byte(a))
	}); err != nil {
		t.Fatal(err)
	}
	f.store.idx = ticketIndex{}
	res, err = f.store.Queue(QueueQuery{Text: "eerste"})
	if err != nil {
		t.Fatal(err)
	}
	if got := refsOf(res.Rows); !slices.Equal(got, []string{a}) {
		t.Errorf("after backfill: %v", got)
	}
}

func TestSummaryWaitingAndFirstAnswer(t *testing.T) {
	f := newFixture(t)
	ref := f.ingest("ondersteuning", msg("w@swv.example", "w@swv.example", "vraag"), newClass(intake.TypeInstrumentarium)).TicketRef
	sum := func() Summary {
		t.Helper()
		res, err := f.store.Queue(QueueQuery{AllStates: true})
		if err != nil || len(res.Rows) != 1 {
			t.Fatalf("%v %d", err, len(res.Rows))
		}
		return res.Rows[0]
	}
	s := sum()
	if !s.Waiting.Equal(f.now) || !s.FirstAnswer.IsZero() {
		t.Errorf("after the request (with an automatic confirmation): waiting %v, first answer %v", s.Waiting, s.FirstAnswer)
	}
	f.now = f.now.Add(2 * time.Hour)
	d := &Desk{Store: f.store, Policy: f.pol}
	if _, err := d.Reply(ref, "leider@poraad.nl", ReplyRequest{Body: "Hier is het antwoord."}); err != nil {
		t.Fatal(err)
	}
	s = sum()
	if !s.Waiting.IsZero() || !s.FirstAnswer.Equal(f.now) {
		t.Errorf("after a person's reply: waiting %v, first answer %v (now %v)", s.Waiting, s.FirstAnswer, f.now)
	}
}

func TestQueueIndexConcurrent(t *testing.T) {
	f := newFixture(t)
	f.pol.Confirm = false
	stop := make(chan struct{})
	done := make(chan error, 4)
	for range 4 {
		go func() {
			for {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				if _, err := f.store.Queue(QueueQuery{Text: "verzoek", Sort: SortWaiting, Limit: 10}); err != nil {
					done <- err
					return
				}
			}
		}()
	}
	const n = 60
	for i := range n {
		f.now = f.now.Add(time.Minute)
		f.ingest("ondersteuning", msg(fmt.Sprintf("c%d@swv.example", i), fmt.Sprintf("c%d@swv.example", i), "verzoek"), newClass(intake.TypeClinic))
	}
	close(stop)
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	res, err := f.store.Queue(QueueQuery{Text: "verzoek"})
	if err != nil || res.Total != n {
		t.Fatalf("total %d, want %d (%v)", res.Total, n, err)
	}
}

// wordsReference is the first, plain implementation of Words.
func wordsReference(text string) []string {
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

// TestIndexFreshWordList: a fresh message's words given as wordList index
// the same as the words read back from its stored record, for a new ticket
// and for one that has words.
func TestIndexFreshWordList(t *testing.T) {
	var long strings.Builder
	for i := range maxWordsPerTicket + 50 {
		fmt.Fprintf(&long, "Woord%d ", i)
	}
	texts := []string{"", "De Clinic over financiën", "de clinic, de plannen", long.String(), "Nieuw woord"}
	index := func(list bool) (words, sums []string) {
		st, err := Open(t.TempDir() + "/loket.db")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		created := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		for i, text := range texts {
			// Each text a new ticket, and a message more of the ticket "PO-all".
			for _, tk := range []*Ticket{{Ref: fmt.Sprintf("PO-%d", i)}, {Ref: "PO-all"}} {
				tk.Created, tk.Updated = created, created
				for seq := range uint64(i + 1) {
					tk.Messages = append(tk.Messages, MessageRef{Seq: seq + 1, Direction: DirIn, Date: created})
				}
				if tk.Ref != "PO-all" {
					tk.Messages = tk.Messages[i:]
				}
				seq := uint64(i + 1)
				var fresh *freshWords // nil: read back from the record
				if list {
					fresh = &freshWords{seq: seq, list: wordList(text)}
				}
				if err := st.db.Update(func(tx *bolt.Tx) error {
					rec := MessageRecord{Seq: seq, Direction: DirIn, Message: &intake.Message{Text: text}}
					if err := putJSON(tx.Bucket(bucketMessages), itob(seq), &rec); err != nil {
						return err
					}
					return indexTicketTx(tx, tk, fresh)
				}); err != nil {
					t.Fatal(err)
				}
			}
		}
		err = st.db.View(func(tx *bolt.Tx) error {
			for _, b := range []struct {
				name []byte
				out  *[]string
			}{{bucketTicketWords, &words}, {bucketTicketIndex, &sums}} {
				if err := tx.Bucket(b.name).ForEach(func(k, v []byte) error {
					*b.out = append(*b.out, fmt.Sprintf("%s=%q", k, v))
					return nil
				}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return words, sums
	}
	wantWords, wantSums := index(false)
	gotWords, gotSums := index(true)
	if !slices.Equal(gotWords, wantWords) || !slices.Equal(gotSums, wantSums) {
		t.Errorf("with wordList:\n%s\n%s\nread back:\n%s\n%s", gotWords, gotSums, wantWords, wantSums)
	}
	if len(wantWords) != len(texts)+1 || !strings.HasPrefix(wantWords[len(texts)], `PO-all="de clinic over financiën plannen woord0 woord1`) {
		t.Errorf("words: %s", wantWords)
	}
}

func FuzzMergeWords(f *testing.F) {
	f.Add([]byte("de clinic"), "Clinic over het plan", "\tplan  x\u00a0y ", 3)
	f.Add([]byte(""), "", "a b", 1)
	f.Add([]byte(" a  a\xffb\u2028c "), "A b c d", strings.Repeat("x", 300), 2)
	f.Fuzz(func(t *testing.T, have []byte, a, b string, repeat int) {
		// have: many words, up to beyond maxWordsPerTicket.
		have = bytes.Repeat(have, min(max(repeat, 0), maxWordsPerTicket/2))
		for _, lists := range [][][]string{{Words(a)}, {Words(a), Words(b)}, {strings.Fields(b), Words(a)}} {
			got, gotChanged := mergeWords(have, lists)
			want, wantChanged := mergeWordsPlain(have, lists)
			if len(have) == 0 && len(lists) == 1 {
				want, wantChanged = []byte(strings.Join(lists[0][:min(len(lists[0]), maxWordsPerTicket)], " ")), true
			}
			if !bytes.Equal(got, want) || gotChanged != wantChanged {
				t.Fatalf("mergeWords(%q, %q) = %q %v, want %q %v", have, lists, got, gotChanged, want, wantChanged)
			}
		}
	})
}

// TestSummaryJSON holds appendSummaryJSON to json.Marshal.
func TestSummaryJSON(t *testing.T) {
	when := time.Date(2026, 3, 2, 10, 4, 5, 123456789, time.FixedZone("", 3600))
	for _, s := range []Summary{
		{},
		{Ref: "PO-2026-00001", Mailbox: "ondersteuning", Type: intake.TypeClinic, Family: "x", State: StateNew,
			Subject: "Vraag over <b>financiën</b> & \"plan\"\n\t\x01\x7f\u2028\u2029\xff\xc3 é", RequesterAddress: "a@b.nl",
			Created: when, Updated: when.UTC(), Messages: 3, Rev: 7},
		{Ref: "r", RequesterName: "Jan \\ Jansen", Org: "SWV", Assignee: "x@poraad.nl", AssigneeName: "X",
			Created: when, Updated: when, Waiting: when.Add(time.Hour), FirstAnswer: when.Add(2 * time.Hour),
			Messages: -1, Appointment: when.Add(24 * time.Hour), AppointmentEnd: when.Add(25 * time.Hour),
			Location: "Utrecht", Session: "s1", Bounced: true, Flagged: true, WordsSeq: 1<<64 - 1, Rev: 1},
		{Created: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Updated: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		want, wantErr := json.Marshal(s)
		got, ok := appendSummaryJSON(nil, &s)
		if ok != (wantErr == nil) || ok && !bytes.Equal(got, want) {
			t.Errorf("appendSummaryJSON:\n%s %v\njson.Marshal:\n%s %v", got, ok, want, wantErr)
		}
	}
}

func FuzzSummaryJSONString(f *testing.F) {
	for _, s := range []string{"", "abc", "<>&\"\\\b\f\n\r\t\x00\x1f\x7f", "é\u2028\u2029\xff\xe2\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

func FuzzWords(f *testing.F) {
	for _, s := range []string{"", "Clinic over het plan", "Één ÉÉN één, café-Über 2026 x y", "\xff\xfeab cd\xc3", strings.Repeat("Ab", 30) + " " + strings.Repeat("é", 50)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := wordsReference(s)
		if got := Words(s); !slices.Equal(got, want) {
			t.Fatalf("Words(%q) = %q, want %q", s, got, want)
		}
		if got, want := wordList(s), strings.Join(want[:min(len(want), maxWordsPerTicket)], " "); string(got) != want || got == nil {
			t.Fatalf("wordList(%q) = %q, want %q", s, got, want)
		}
	})
}

// BenchmarkWords: a message's words as a list (Words) and as the words
// record a new ticket stores (wordList).
func BenchmarkWords(b *testing.B) {
	raw, err := os.ReadFile("../intake/testdata/classify/heldout/h-002.eml")
	if err != nil {
		b.Skip(err)
	}
	text := intake.Parse(raw).Text
	b.Run("Words", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			Words(text)
		}
	})
	b.Run("wordList", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			wordList(text)
		}
	})
}

// BenchmarkMergeWords: a follow-up's words added to those of its ticket.
func BenchmarkMergeWords(b *testing.B) {
	raw, err := os.ReadFile("../intake/testdata/classify/heldout/h-002.eml")
	if err != nil {
		b.Skip(err)
	}
	text := intake.Parse(raw).Text
	var have []string
	for i := range 400 {
		have = append(have, fmt.Sprintf("woord%d", i))
	}
	haveList := []byte(strings.Join(have, " "))
	lists := [][]string{Words(text)}
	for b.Loop() {
		mergeWords(haveList, lists)
	}
}

// TestIndexWordsFromRaw: a message whose record leaves its text to the raw
// bytes (TextInRaw) gets its search words from them when the index reads
// it back rather than from the commit that stored it.
func TestIndexWordsFromRaw(t *testing.T) {
	f := newFixture(t)
	raw := "From: Jan <jan@swv.example>\r\nTo: ondersteuningpassendonderwijs@poraad.nl\r\nSubject: Clinic aanvragen\r\n" +
		"Message-ID: <words-1@swv.example>\r\n\r\nWij willen graag een clinic over thuiszitters.\r\n"
	ref, _ := f.handle(f.service(), "ondersteuning", raw)
	tk := f.ticket(ref)
	var words string
	err := f.store.db.Update(func(tx *bolt.Tx) error {
		// As if the index had not seen the message yet.
		for _, b := range [][]byte{bucketTicketIndex, bucketTicketWords} {
			if err := tx.Bucket(b).Delete([]byte(ref)); err != nil {
				return err
			}
		}
		if err := indexTicketTx(tx, tk, nil); err != nil {
			return err
		}
		words = string(tx.Bucket(bucketTicketWords).Get([]byte(ref)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec, _ := f.store.Message(tk.Messages[0].Seq); rec == nil || !rec.TextInRaw {
		t.Fatal("the record keeps its text: nothing to test")
	}
	if !strings.Contains(words, "thuiszitters") {
		t.Errorf("words read back %q, want those of the text", words)
	}
}
