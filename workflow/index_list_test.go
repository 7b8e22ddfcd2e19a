package workflow

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestDecodeSummary compares decodeSummary with json.Unmarshal on what
// indexTicketTx writes and on JSON it never writes.
func TestDecodeSummary(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	texts := []string{"", "PO-2026-0001", "Aanvraag clinic", `"quoted"`, "<b>&amp;</b>", "tab\there", "línea ñ 日本",
		"back\\slash", "\x00nul", "bad \xff utf-8", "emoji 😀", "\u2028"}
	zones := []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("", -5*3600-30*60)}
	when := func() time.Time {
		if rng.IntN(4) == 0 {
			return time.Time{}
		}
		return time.Unix(rng.Int64N(2e9), rng.Int64N(2)*rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))])
	}
	var text func() string
	fast, intern := 0, map[string]string{}
	for i := range 2000 {
		// Half without anything json.Marshal escapes.
		text = func() string { return texts[rng.IntN(len(texts))] }
		if i%2 == 0 {
			text = func() string { return texts[rng.IntN(3)] }
		}
		s := Summary{Ref: text(), Mailbox: text(), Type: "clinic", Family: FamilyAppointment, State: StateNew,
			Subject: text(), RequesterName: text(), RequesterAddress: text(), Org: text(), Assignee: text(), AssigneeName: text(),
			Created: when(), Updated: when(), Waiting: when(), FirstAnswer: when(), Messages: rng.IntN(5),
			Appointment: when(), AppointmentEnd: when(), Location: text(), Session: text(),
			Bounced: rng.IntN(2) == 0, Flagged: rng.IntN(2) == 0, WordsSeq: rng.Uint64N(1e6), Rev: rng.Uint64()}
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var want, got Summary
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if decodeSummaryFast(data, &Summary{}, nil) {
			fast++
		}
		if err := decodeSummary(data, &got, intern); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %+v (%v)\nwant %+v", data, got, err, want)
		}
	}
	if fast < 1000 {
		t.Errorf("the fast path decoded %d of 2000", fast)
	}
	for _, data := range []string{
		`{}`, ` { "ref" : "PO-1" , "rev" : 7 } `, "{\n\t\"ref\": \"PO-1\"\n}",
		`{"ref":"PO-1","Ref":"PO-2"}`, `{"ref":"PO-1","ref":"PO-2"}`, `{"REV":3}`, `{"ref":null}`, `{"created":null}`,
		`{"ref":"a\"b"}`, `{"ref":"a\u00e9"}`, `{"messages":1.5}`, `{"messages":1e2}`, `{"messages":01}`, `{"messages":-0}`,
		`{"messages":-3}`, `{"rev":-1}`, `{"rev":18446744073709551615}`, `{"rev":18446744073709551616}`, `{"bounced":true,"flagged":false}`,
		`{"bounced":1}`, `{"created":"2026-03-01T09:00:00Z"}`, `{"created":"2026-03-01"}`, `{"created":""}`, `{"unknown":"x"}`,
		`{"ref":"PO-1"} x`, `{"ref":"PO-1",}`, `{"ref" "PO-1"}`, `{"ref":"PO-1"`, `[]`, ``, `null`, `{"ref":"tab	raw"}`,
		`{"bounced":truex}`, `{"words_seq":12,"rev":13,"subject":"S","state":"new"}`,
	} {
		var want, got Summary
		wantErr := json.Unmarshal([]byte(data), &want)
		gotErr := decodeSummary([]byte(data), &got, nil)
		if (gotErr != nil) != (wantErr != nil) || wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %+v (%v), want %+v (%v)", data, got, gotErr, want, wantErr)
		}
	}
}
