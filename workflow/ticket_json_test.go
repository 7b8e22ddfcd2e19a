package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/poraad/loket/intake"
)

// fillRandom sets every exported field reachable from v (a pointer) to a
// random value: empty or not, tricky strings, times in several zones, nil
// or filled pointers and slices.
func fillRandom(r *rand.Rand, v reflect.Value) {
	strs := []string{"", "a", "PO-2026-0001", `quote " back \ slash`, "<b>&amp;</b>", "tab\tnl\ncr\rff\fbs\b\x00\x1f",
		"ümlaut ĳ €", "\u2028\u2029", "bad \xff\xfe utf8", "emoji 😀", `{"json":"in a string"}`}
	switch v.Kind() {
	case reflect.Pointer:
		if r.IntN(3) == 0 {
			v.SetZero()
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fillRandom(r, v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			zones := []*time.Location{time.UTC, amsterdam, time.FixedZone("x", -5*3600-30*60)}
			t := time.Time{}
			if r.IntN(4) != 0 {
				t = time.Unix(r.Int64N(4e9), r.Int64N(1e9)*int64(r.IntN(2))).In(zones[r.IntN(len(zones))])
			}
			v.Set(reflect.ValueOf(t))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillRandom(r, v.Field(i))
			}
		}
	case reflect.Slice:
		n := r.IntN(4) - 1
		if n < 0 {
			v.SetZero()
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			fillRandom(r, v.Index(i))
		}
	case reflect.Map:
		n := r.IntN(3)
		v.Set(reflect.MakeMap(v.Type()))
		for range n {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fillRandom(r, k)
			fillRandom(r, e)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		v.SetString(strs[r.IntN(len(strs))])
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(r.Int64N(1e6) - int64(r.IntN(2))*5e5)
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		v.SetUint(r.Uint64N(1 << 40))
	case reflect.Float64:
		v.SetFloat(float64(r.IntN(1000)) / 7)
	default:
		panic("fillRandom: no filler for " + v.Type().String())
	}
}

// TestTicketJSONMatchesEncodingJSON: the store's ticket encoder writes
// exactly what encoding/json writes, for tickets with every field filled
// at random (a field added to Ticket and not to the encoder fails here).
func TestTicketJSONMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		var tk Ticket
		fillRandom(r, reflect.ValueOf(&tk).Elem())
		sameAsEncodingJSON(t, fmt.Sprint("ticket ", i), &tk, marshalTicket)
	}
	// A time JSON cannot hold: the same error as encoding/json's.
	tk := Ticket{Created: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := marshalTicket(&tk); err == nil {
		t.Error("a year 10000 was encoded")
	}
}

func BenchmarkMarshalTicket(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	var tk Ticket
	fillRandom(r, reflect.ValueOf(&tk).Elem())
	tk.Proposal, tk.Suggestion, tk.Appointment = nil, nil, nil
	var err error
	if tk.classJSON, err = json.Marshal(&tk.Classification); err != nil { // as at intake
		b.Fatal(err)
	}
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(&tk); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("marshalTicket", func(b *testing.B) {
		for b.Loop() {
			if _, err := marshalTicket(&tk); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestMessageJSONMatchesEncodingJSON: the encoders of a parsed message and
// of a classification write exactly what encoding/json writes, for values
// with every field filled at random, floats in both notations included.
func TestMessageJSONMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	floats := []float64{0, 1, -2.5, 0.46, 1e-7, 3.2e-9, 1e21, 123456789012, 1.0 / 3}
	for i := range 3000 {
		var m intake.Message
		fillRandom(r, reflect.ValueOf(&m).Elem())
		sameAsEncodingJSON(t, fmt.Sprint("message ", i), &m, marshalMessage)

		var c intake.Classification
		fillRandom(r, reflect.ValueOf(&c).Elem())
		c.Confidence = floats[r.IntN(len(floats))]
		for j := range c.Reasons {
			c.Reasons[j].Weight = floats[r.IntN(len(floats))]
		}
		sameAsEncodingJSON(t, fmt.Sprint("classification ", i), &c, marshalClassification)
	}
}

// TestRecordJSONMatchesEncodingJSON: a stored message record is what
// encoding/json writes (its classification left out when ClassInTicket),
// encoded whole or around its message's and classification's JSON worked
// out before, for records with every field filled at random and for
// strings that look like the record's own keys.
func TestRecordJSONMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	tricky := msg(`tricky","message":null@x`, `a"b@x`, `"message":null, {"seq":1}`)
	tricky.HTML = "<p>\u2028</p>"
	recs := []*MessageRecord{
		{Seq: 9, Direction: DirIn, Mailbox: `mb"message":null`, UID: 3, Received: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
			TicketRef: "PO-2026-0001", Message: tricky, Class: &intake.Classification{Kind: intake.KindNew, Reasons: []intake.Reason{{Rule: `"message":null`}}}},
		{Seq: 1, Direction: DirOut, Received: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}, // no message, no classification
	}
	for range 3000 {
		var rec MessageRecord
		fillRandom(r, reflect.ValueOf(&rec).Elem())
		if rec.Class != nil {
			rec.Class.Confidence = 0.5
			for j := range rec.Class.Reasons {
				rec.Class.Reasons[j].Weight = 1.25
			}
		}
		recs = append(recs, &rec)
	}
	for i, rec := range recs {
		want := *rec
		if want.ClassInTicket {
			want.Class = nil
		}
		whole := func(*MessageRecord) ([]byte, error) { return marshalRecord(rec, nil, nil) }
		sameAsEncodingJSON(t, fmt.Sprint("record ", i), &want, whole)
		var msgJSON, classJSON []byte
		if rec.Message != nil {
			msgJSON, _ = json.Marshal(rec.Message)
		}
		if rec.Class != nil {
			classJSON, _ = json.Marshal(rec.Class)
		}
		spliced := func(*MessageRecord) ([]byte, error) { return marshalRecord(rec, msgJSON, classJSON) }
		sameAsEncodingJSON(t, fmt.Sprint("spliced record ", i), &want, spliced)
	}
}

// sameAsEncodingJSON fails t unless enc encodes v exactly as json.Marshal.
func sameAsEncodingJSON[T any](t *testing.T, what string, v *T, enc func(*T) ([]byte, error)) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := enc(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\ngot  %s\nwant %s", what, got, want)
	}
}

// TestSummaryJSONMatchesEncodingJSON: the queue summary's encoder, on
// summaries with every field filled at random.
func TestSummaryJSONMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	enc := func(s *Summary) ([]byte, error) {
		b, ok := appendSummaryJSON(nil, s)
		if !ok {
			return nil, errTicketTime
		}
		return b, nil
	}
	for i := range 3000 {
		var s Summary
		fillRandom(r, reflect.ValueOf(&s).Elem())
		sameAsEncodingJSON(t, fmt.Sprint("summary ", i), &s, enc)
	}
}
