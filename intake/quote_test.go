package intake

import (
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The -update flag rewrites golden files. Another test file of the package
// may define the same flag first; then this one uses it.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files in testdata")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// TestQuoteGolden runs StripQuoted and StripSignature over every
// testdata/classify/quote/*.txt and compares with the .golden file next to
// it. Run with -update to rewrite the golden files after a deliberate
// change, and review the diff.
func TestQuoteGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "classify", "quote", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no quote fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			quoted := StripQuoted(string(in))
			got := "== StripQuoted ==\n" + quoted + "\n== StripSignature ==\n" + StripSignature(quoted) + "\n"
			org, phone := ExtractContact(string(in))
			got += "== ExtractContact ==\norg: " + org + "\nphone: " + phone + "\n"
			if fp, ok := splitForward(string(in), false); ok {
				got += "== forward ==\nfrom: " + fp.From.Name + " <" + fp.From.Address + ">\nsubject: " + fp.Subject + "\nbody:\n" + fp.Body + "\n"
			}
			golden := strings.TrimSuffix(f, ".txt") + ".golden"
			if updateGolden() {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (run with -update after checking):\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

func TestStripQuoted(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Vraag.\r\n\r\nGroet,\r\nJan\r\n", "Vraag.\n\nGroet,\nJan"},
		{"gt lines", "Ja.\n> Nee?\n>> Misschien\nToch ja.", "Ja.\nToch ja."},
		{"outlook block", "Ja.\n\nVan: X <x@y.example>\nVerzonden: maandag\nAan: Y\nOnderwerp: Z\n\nOud", "Ja."},
		{"english block", "Yes.\nFrom: X\nSent: Monday\nTo: Y\nSubject: Z\nOld", "Yes."},
		{"bold block", "Ja.\n*Van:* X\n*Verzonden:* maandag\n*Aan:* Y\n\nOud", "Ja."},
		{"lone Van: line is text", "Van: de directeur kreeg ik dit adres.\nGraag een clinic.", "Van: de directeur kreeg ik dit adres.\nGraag een clinic."},
		{"original message", "Ja.\n-----Original Message-----\nOud", "Ja."},
		{"oorspronkelijk bericht", "Ja.\n----- Oorspronkelijk bericht -----\nOud", "Ja."},
		{"attribution then gt", "Ja.\nOp 3 feb. 2026 om 10:14 schreef X <x@y>:\n> Oud\nNieuw", "Ja.\nNieuw"},
		{"attribution cuts unprefixed quote", "Ja.\nOn Tue, Feb 3, 2026 at 10:14 AM X wrote:\nOud", "Ja."},
		{"sentence that looks like an attribution", "Op 12 maart schreef ik u het volgende:\nwij komen met zijn drieën.", "Op 12 maart schreef ik u het volgende:\nwij komen met zijn drieën."},
		{"forward marker", "Zie hieronder.\n---------- Forwarded message ---------\nFrom: X", "Zie hieronder."},
		{"apple forward marker", "Zie hieronder.\n\nBegin doorgestuurd bericht:\n\nVan: X", "Zie hieronder."},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		if got := StripQuoted(tt.in); got != tt.want {
			t.Errorf("%s: StripQuoted = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestStripSignature(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"met vriendelijke groet", "Vraag.\n\nMet vriendelijke groet,\n\nJan", "Vraag."},
		{"vriendelijke groeten", "Vraag.\nVriendelijke groeten\nJan", "Vraag."},
		{"met hartelijke groet", "Vraag.\nMet hartelijke groet,\nJan", "Vraag."},
		{"groet comma", "Vraag.\nGroet,\nJan", "Vraag."},
		{"groetjes", "Vraag.\nGroetjes,\nFemke", "Vraag."},
		{"kind regards", "Question.\nKind regards,\nFiona", "Question."},
		{"best regards", "Question.\nBest regards\nFiona", "Question."},
		{"greeting with name on the line", "Vraag.\nMet vriendelijke groet, Jan Jansen", "Vraag."},
		{"sig separator", "Vraag.\n-- \nJan", "Vraag."},
		{"disclaimer", "Vraag.\nDit bericht is uitsluitend bestemd voor de geadresseerde.", "Vraag."},
		{"english disclaimer", "Question.\nThis e-mail and any attachments are confidential.", "Question."},
		{"disclaimer gemeente", "Vraag.\nDe informatie verzonden met dit e-mailbericht is vertrouwelijk.", "Vraag."},
		{"mobile footer", "Vraag.\n\nVerstuurd vanaf mijn iPhone", "Vraag."},
		{"sentence starting with groeten is kept", "Groeten uit Zeeland en een vraag over de clinic voor onze scholen in de regio.\nJan", "Groeten uit Zeeland en een vraag over de clinic voor onze scholen in de regio.\nJan"},
		{"no signature", "Vraag over de clinic.", "Vraag over de clinic."},
	}
	for _, tt := range tests {
		if got := StripSignature(tt.in); got != tt.want {
			t.Errorf("%s: StripSignature = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSplitForward(t *testing.T) {
	text := "Zie onder.\n\nGroet,\nAnita\n\n-----Oorspronkelijk bericht-----\nVan: Els Brouwer-Stam <E.Brouwerstam@skpo.example>\nVerzonden: maandag 9 februari 2026 08:47\nAan: Anita\nOnderwerp: medicijnprotocol\n\nWaar vind ik het protocol?\n"
	if _, ok := splitForward(text, false); ok {
		t.Error("an Oorspronkelijk bericht block without FW: subject is a quote, not a forward")
	}
	fp, ok := splitForward(text, true)
	if !ok {
		t.Fatal("no forward found")
	}
	if fp.From.Address != "e.brouwerstam@skpo.example" || fp.From.Name != "Els Brouwer-Stam" || fp.Subject != "medicijnprotocol" {
		t.Errorf("header %+v %q", fp.From, fp.Subject)
	}
	if fp.Body != "Waar vind ik het protocol?" || !strings.HasPrefix(fp.Note, "Zie onder.") {
		t.Errorf("body %q note %q", fp.Body, fp.Note)
	}

	for in, want := range map[string]Address{
		"Els <e@x.example>":                  {Name: "Els", Address: "e@x.example"},
		`"Brouwer, Els" <e@x.example>`:       {Name: "Brouwer, Els", Address: "e@x.example"},
		"Els Brouwer [mailto:E@x.example]":   {Name: "Els Brouwer", Address: "e@x.example"},
		"e@x.example":                        {Address: "e@x.example"},
		"Els Brouwer-Stam":                   {Name: "Els Brouwer-Stam"},
		"*Els* <e@x.example>":                {Name: "Els", Address: "e@x.example"},
		"Els Brouwer <e@x.example> namens X": {Name: "Els Brouwer", Address: "e@x.example"},
	} {
		if got := parseLooseAddress(in); got != want {
			t.Errorf("parseLooseAddress(%q) = %+v, want %+v", in, got, want)
		}
	}
}

// signOffRe is the sign-off pattern that isSignOff matches by hand: a
// greeting of signOffs at the start of the normalised line, as whole words.
var signOffRe = regexp.MustCompile(`^(?:` +
	`(?:met )?(?:vriendelijke|hartelijke|collegiale|beste|warme|zonnige|hele|lieve|sportieve|goede|fijne) ?(?:groet|groeten|groetjes)` +
	`|met (?:groet|groeten)` +
	`|groet|groeten|groetjes|gegroet` +
	`|mvg|vr gr|vrgr|m ?v ?g` +
	`|hoogachtend` +
	`|bij voorbaat (?:dank|bedankt)` +
	`|(?:kind|best|warm|warmest|kindest|many thanks and kind) regards|regards` +
	`|(?:yours )?sincerely|best wishes|all the best|cheers` +
	`|mit freundlichen gr(?:u|ue)(?:ss|ß)en|viele gr(?:u|ue)(?:ss|ß)e` +
	`)\b`)

// isSignOffRe is isSignOff as a regular expression over the normalised
// line, the reference for the hand-written matcher.
func isSignOffRe(line string) bool {
	t := strings.TrimSpace(line)
	if t == "" || len(t) > 80 {
		return false
	}
	f := foldText(t)
	f = strings.TrimRight(f, " ,.!:;-")
	f = strings.Join(strings.Fields(strings.NewReplacer(",", " ", ".", " ", "!", " ").Replace(f)), " ")
	if len(strings.Fields(f)) > maxSignOffWords {
		return false
	}
	return signOffRe.MatchString(f)
}

func TestIsSignOffMatchesRegexp(t *testing.T) {
	lines := []string{
		"Met vriendelijke groet,", "met vriendelijke  groet!", "Vriendelijkegroeten", "MVG", "m v g", "mv g,", "m vg", "Mvg Jan", "mvgg",
		"Groeten Jan", "Groetenis", "groet_x", "groet1", "Groet,", "Groetjes", "Gegroet", "Kind regards,", "Best regards", "Regards", "regardsx",
		"Yours sincerely,", "Sincerely", "Cheers!", "Met groet", "Met groeten", "Met groetjes", "Vr gr", "Vrgr", "Hoogachtend,", "Bij voorbaat dank!",
		"Bij voorbaat bedankt", "Mit freundlichen Grüßen", "Mit freundlichen Gruessen", "Viele Grüße", "All the best", "Best wishes",
		"Many thanks and kind regards", "groeten uit utrecht en tot ziens bij de clinic", "groet; jan", "Met vriendelijke groet, Jan de Vries",
		"\u00a0Met\u00a0vriendelijke\u00a0groet", "Met vriendelijke groet\u200b", "groet\u2003jan", "groet\u2001jan", "groetén", "groet\xff",
		"", " ", "-- ", "Groet.Jan", "Groet!Jan", "groet-jan", "groet's", strings.Repeat("groet ", 20), "a b c d e f groet", "groet a b c d e f",
		"groet a b c d e", "Met hartelijke groet -", "HEEL VEEL GROETEN", "Warme groetjes", "sportieve groet", "ẞ groet", "K groet",
	}
	for _, dir := range []string{"testdata/classify/extra", "testdata/classify/heldout", "testdata/classify/quote", classifySamplesDir} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err == nil {
				lines = append(lines, splitLines(string(raw))...)
			}
		}
	}
	for _, l := range lines {
		if got, want := isSignOff(l), isSignOffRe(l); got != want {
			t.Errorf("isSignOff(%q) = %v, want %v", l, got, want)
		}
	}
}

// testLines returns lines of every test mail and random short lines over
// an alphabet of the bytes the hand-written matchers look at.
func testLines(alphabet []string, n int) []string {
	var lines []string
	for _, dir := range []string{"testdata/classify/extra", "testdata/classify/heldout", "testdata/classify/quote", "testdata/parse", classifySamplesDir} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err == nil {
				lines = append(lines, splitLines(string(raw))...)
			}
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range n {
		var b strings.Builder
		for k := r.IntN(8); k >= 0; k-- {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		lines = append(lines, b.String())
	}
	return lines
}

// The regular expressions that quote.go matches by hand, the reference
// for the matchers.
var (
	attribStartRe = regexp.MustCompile(`(?i)^(?:op|on|am|le)\s+\S`)
	headerFromRe  = regexp.MustCompile(`(?i)^[*>\s]*(?:van|from|de|von|afzender)\s*:\**\s*(.*)$`)
	headerOtherRe = regexp.MustCompile(`(?i)^[*>\s]*(?:verzonden|sent|datum|date|aan|to|cc|bcc|onderwerp|subject|envoy[ée]|[àa]|objet|gesendet|an|betreff|reply-to|beantwoorden)\s*:\**\s*(.*)$`)
	headerSubjRe  = regexp.MustCompile(`(?i)^[*>\s]*(?:onderwerp|subject|objet|betreff)\s*:\**\s*(.*)$`)
)

// quotedFieldRe is quotedField and isFieldName by the regular expression
// of one list of names: the value and whether it matches.
func quotedFieldRe(t string, re *regexp.Regexp) (string, bool) {
	m := re.FindStringSubmatch(t)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func TestQuoteMatchersMatchRegexps(t *testing.T) {
	alphabet := []string{"op", "On", "aM", "LE", "o", "p", " ", "\t", "\v", "\r", "\f", "\n", "x", "é", "\xff", ":", "*", ">", "-", "van", "From", "a",
		"envoyé", "à", "reply-to", "ſent", "begin ", "Begin", "BEGIN ", "b", "--", "\u00a0", "\u2003", "forwarded message", "doorgestuurd bericht", ": ",
		"Van", "VAN", "de", "Subject", "objet", "ENVOYÉ", "À", "Onderwerp", "to", "CC", "*", "**", ":*", "\u00a0", "K", "ſubject"}
	matched := 0
	for _, l := range testLines(alphabet, 200000) {
		if got, want := isAttribStart(l), attribStartRe.MatchString(l); got != want {
			t.Errorf("isAttribStart(%q) = %v, want %v", l, got, want)
		}
		for _, c := range []struct {
			re    *regexp.Regexp
			names []string
		}{{headerFromRe, headerFromNames}, {headerSubjRe, headerSubjNames}, {headerOtherRe, headerOtherNames}} {
			wantValue, want := quotedFieldRe(l, c.re)
			name, value, ok := quotedField(l)
			if got := ok && isFieldName(name, c.names); got != want || got && value != wantValue {
				t.Errorf("quotedField(%q) for %v = %q, %v, want %q, %v", l, c.names, value, got, wantValue, want)
			}
			if want {
				matched++
			}
		}
		if isAttribStart(l) {
			matched++
		}
		if got, want := isForwardMarker(l), forwardMarkerRe.MatchString(l); got != want {
			t.Errorf("isForwardMarker(%q) = %v, want %v", l, got, want)
		}
		if isForwardMarker(strings.TrimSpace(l)) && !mayStartForwardMarker(l) {
			t.Errorf("mayStartForwardMarker(%q) = false for a forward marker", l)
		}
	}
	if matched < 1000 {
		t.Errorf("only %d lines matched: the test lines miss the cases", matched)
	}
}
