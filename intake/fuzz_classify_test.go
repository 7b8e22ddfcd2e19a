package intake

import (
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Fuzz targets for the classifier's text handling. Run each for a while
// when changing the rules, e.g.
//
//	go test ./intake -run '^$' -fuzz FuzzClassify -fuzztime 30s

var validRefRe = regexp.MustCompile(`^PO-\d{4}-\d{4,9}$`)

func FuzzParseTicketRef(f *testing.F) {
	for _, s := range []string{
		"[PO-2026-0042] x", "po-2026-0042", "XPO-2026-0042", "PO-2026-10042", "PO-2026-0042a",
		"é[PO-2026-0042]", "PO-PO-2026-0042", "PO-2026-PO-2026-0001", "\xffPO-2026-0042\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, ok := ParseTicketRef(s, "PO")
		if !ok {
			if ref != "" {
				t.Fatalf("no match but ref %q", ref)
			}
			return
		}
		if !validRefRe.MatchString(ref) {
			t.Fatalf("ParseTicketRef(%q) = %q: not a valid reference", s, ref)
		}
		if !strings.Contains(strings.ToUpper(s), ref) {
			t.Fatalf("ParseTicketRef(%q) = %q: not in the input", s, ref)
		}
		if again, ok := ParseTicketRef(ref, "PO"); !ok || again != ref {
			t.Fatalf("ParseTicketRef(%q) = %q, %v: not stable", ref, again, ok)
		}
	})
}

func FuzzStripQuoted(f *testing.F) {
	for _, s := range []string{
		"Ja.\n> Nee\nToch.", "Ja.\r\nVan: X\r\nVerzonden: Y\r\nAan: Z\r\n\r\nOud",
		"Op 3 feb. 2026 om 10:14 schreef X <x@y>:\n> a", "On Tue wrote:\nOud",
		"Vraag.\n\nMet vriendelijke groet,\nJan\nT 0223 - 76 14 20", "---------- Forwarded message ---------\nFrom: X",
		"Op\nOp\nOp 10:10 schreef:", "\r\r\n\n", "-- \n", "Begin doorgestuurd bericht:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in := splitLines(s)
		q := StripQuoted(s)
		var out []string
		if q != "" {
			out = splitLines(q)
		}
		// Every output line is an input line, in order.
		j := 0
		for _, l := range out {
			for j < len(in) && in[j] != l {
				j++
			}
			if j == len(in) {
				t.Fatalf("StripQuoted(%q) = %q: line %q not from the input in order", s, q, l)
			}
			j++
		}
		sig := StripSignature(q)
		if !strings.HasPrefix(q, sig) {
			t.Fatalf("StripSignature(%q) = %q: not a prefix", q, sig)
		}
		org, phone := ExtractContact(s)
		if !strings.Contains(s, org) || !strings.Contains(s, phone) {
			t.Fatalf("ExtractContact(%q) = %q, %q: not from the input", s, org, phone)
		}
		if fp, ok := splitForward(s, true); ok && !strings.Contains(strings.Join(in, "\n"), fp.Body) {
			t.Fatalf("splitForward(%q) body %q not from the input", s, fp.Body)
		}
	})
}

func FuzzClassify(f *testing.F) {
	f.Add("aanmelding", "Wij melden ons aan voor de praktijktoets.\n\nGroet,\nJan\nSWV X\n06-12345678", "jan@swv.example", "", "", "", "", true)
	f.Add("Automatisch antwoord: [PO-2026-0001] x", "Ik ben afwezig.", "a@b.example", "auto-replied", "", "<>", "ack-1@poraad.nl", false)
	f.Add("Undeliverable: [PO-2026-0002]", "", "postmaster@x.example", "", "multipart/report; report-type=delivery-status", "", "", false)
	f.Add("FW: vraag", "Zie onder.\n-----Oorspronkelijk bericht-----\nVan: Els <e@x.example>\nVerzonden: ma\nAan: A\nOnderwerp: clinic\n\nGraag een clinic op maat.", "a@x.example", "", "", "", "", false)
	f.Add("Re: x", "Op 1 jan 2026 om 10:00 schreef X <x@y>:\n> clinic", "x@y.example", "no", "", "", "x@y", true)
	c := newTestClassifier(f)
	kinds := []Kind{KindNew, KindFollowUp, KindAutoReply, KindBounce}
	f.Fuzz(func(t *testing.T, subject, text, from, autoSubmitted, contentType, returnPath, inReplyTo string, praktijk bool) {
		m := &Message{
			Subject: subject, Text: text, From: Address{Address: from},
			Header: map[string][]string{}, InReplyTo: []string{inReplyTo},
			References: []string{inReplyTo, "ack-20260210-0044.7hq2@poraad.nl"},
		}
		if autoSubmitted != "" {
			m.Header["Auto-Submitted"] = []string{autoSubmitted}
		}
		if contentType != "" {
			m.Header["Content-Type"] = []string{contentType}
		}
		if returnPath != "" {
			m.Header["Return-Path"] = []string{returnPath}
		}
		var prior Type
		if praktijk {
			prior = TypePraktijktoets
		}
		cl := c.Classify(m, prior, testThread)
		if !slices.Contains(kinds, cl.Kind) {
			t.Fatalf("kind %q", cl.Kind)
		}
		if cl.Kind == KindNew && !slices.Contains(Types, cl.Type) {
			t.Fatalf("new with type %q", cl.Type)
		}
		if cl.Kind != KindNew && cl.Type != "" {
			t.Fatalf("%s with type %q", cl.Kind, cl.Type)
		}
		if len(cl.Reasons) == 0 {
			t.Fatal("no reasons")
		}
		if math.IsNaN(cl.Confidence) || cl.Confidence < 0 || cl.Confidence > 1 {
			t.Fatalf("confidence %v", cl.Confidence)
		}
		if cl.TicketRef != "" && !validRefRe.MatchString(cl.TicketRef) {
			t.Fatalf("ticket ref %q", cl.TicketRef)
		}
		if !strings.Contains(text, cl.Org) || !strings.Contains(text, cl.Phone) {
			t.Fatalf("org %q phone %q not from the text", cl.Org, cl.Phone)
		}
		if again := c.Classify(m, prior, testThread); !reflect.DeepEqual(again, cl) {
			t.Fatalf("not deterministic:\n%+v\n%+v", cl, again)
		}
	})
}

// FuzzLineMatchers checks the hand-written line matchers against the
// regular expressions they replace.
func FuzzLineMatchers(f *testing.F) {
	for _, s := range []string{
		"T 0223 - 76 14 20", "Fax: 020-1234567", "12-03-2026", "1.2.1999", "Op 3 feb. 2026 om 10:14 schreef X <x@y>:",
		"*Van:* Els <e@x.example>", "> Onderwerp: clinic", "ENVOYÉ : lundi", "ſubject: x", "mail jan@swv.nl of (x@y)",
		"---------- Forwarded message ---------", "Begin doorgestuurd bericht:", "www.po-raad.nl", "\u00a0-- ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isFaxLabel(s), faxLabelRe.MatchString(s); got != want {
			t.Fatalf("isFaxLabel(%q) = %v, want %v", s, got, want)
		}
		if got, want := isDateLike(s), dateLikeRe.MatchString(s); got != want {
			t.Fatalf("isDateLike(%q) = %v, want %v", s, got, want)
		}
		if got, want := isAttribStart(s), attribStartRe.MatchString(s); got != want {
			t.Fatalf("isAttribStart(%q) = %v, want %v", s, got, want)
		}
		if got, want := replaceEmails(s), emailRe.ReplaceAllString(s, " "); got != want {
			t.Fatalf("replaceEmails(%q) = %q, want %q", s, got, want)
		}
		if got, want := isForwardMarker(s), forwardMarkerRe.MatchString(s); got != want {
			t.Fatalf("isForwardMarker(%q) = %v, want %v", s, got, want)
		}
		if isForwardMarker(strings.TrimSpace(s)) && !mayStartForwardMarker(s) {
			t.Fatalf("mayStartForwardMarker(%q) = false for a forward marker", s)
		}
		for _, c := range []struct {
			re    *regexp.Regexp
			names []string
		}{{headerFromRe, headerFromNames}, {headerSubjRe, headerSubjNames}, {headerOtherRe, headerOtherNames}} {
			wantValue, want := quotedFieldRe(s, c.re)
			name, value, ok := quotedField(s)
			if got := ok && isFieldName(name, c.names); got != want || got && value != wantValue {
				t.Fatalf("quotedField(%q) for %v = %q, %v, want %q, %v", s, c.names, value, got, wantValue, want)
			}
		}
	})
}
