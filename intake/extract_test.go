package intake

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestExtractContact(t *testing.T) {
	tests := []struct {
		name, text, org, phone string
	}{
		{"T label", "Vraag.\n\nMet vriendelijke groet,\n\nMarloes Duinkerk\ndirecteur-bestuurder\nSamenwerkingsverband Passend Primair Onderwijs Noordkop\nT 0223 - 76 14 20\nwww.swv-noordkop-po.nl",
			"Samenwerkingsverband Passend Primair Onderwijs Noordkop", "0223 - 76 14 20"},
		{"phone in the body", "Ik ben het best bereikbaar op 06-41 27 83 95 (na 16.00 uur).\n\nMet vriendelijke groet,\n\nHester\nvoorzitter ondersteuningsplanraad\nSamenwerkingsverband Primair Onderwijs Kromme Rijn",
			"Samenwerkingsverband Primair Onderwijs Kromme Rijn", "06-41 27 83 95"},
		{"en dash and tel.", "Vraag.\n\nMet vriendelijke groet,\n\nSaskia\nbeleidsmedewerker financiën\nSamenwerkingsverband Passend Primair Onderwijs Gooi en Vechtstreek\ntel. 035 – 677 20 41",
			"Samenwerkingsverband Passend Primair Onderwijs Gooi en Vechtstreek", "035 – 677 20 41"},
		{"international", "Question.\n\nKind regards,\n\nFiona Aldersley\nHead of Learning Support\nInternational School Gooi en Vechtstreek\n+31 (0)35 628 91 40",
			"International School Gooi en Vechtstreek", "+31 (0)35 628 91 40"},
		{"area code in brackets", "Vraag.\n\nMet vriendelijke groet,\n\nYvonne Strandberg\nBeleidsadviseur onderwijs en jeugd\nGemeente Noordkop\nT (0224) 28 43 10",
			"Gemeente Noordkop", "(0224) 28 43 10"},
		{"mobile in pairs", "Vraag.\n\nHartelijke groet,\nLotte Geesink\northopedagoog / beleidsmedewerker\nSamenwerkingsverband Passend Primair Onderwijs Achterhoek-Oost\n06 53 21 40 87",
			"Samenwerkingsverband Passend Primair Onderwijs Achterhoek-Oost", "06 53 21 40 87"},
		{"mobile 4-4", "Vraag.\n\nMet vriendelijke groet,\n\nDaan Kieviet\nverslaggever onderwijs\nDagblad Drechtsteden\n06 - 5193 0472",
			"Dagblad Drechtsteden", "06 - 5193 0472"},
		{"Telefoon: label, lower-case gemeente", "Vraag.\n\nMet vriendelijke groet,\n\nMirjam Tuinstra\nbeleidsadviseur onderwijs en jeugd\ngemeente Veluwe-Noord\nTelefoon: 0578 - 29 44 10",
			"gemeente Veluwe-Noord", "0578 - 29 44 10"},
		{"phone and mail on one line", "Vraag.\n\nMet vriendelijke groet,\n\nWim Bleekveld\ncoördinator passend onderwijs\nSamenwerkingsverband VO Achterhoek-Oost\n0544 - 39 72 10 | w.bleekveld@swv.example",
			"Samenwerkingsverband VO Achterhoek-Oost", "0544 - 39 72 10"},
		{"Mob. label", "Vraag.\n\nGroet,\nJan\nStichting X\nMob. 06-12 34 56 78", "Stichting X", "06-12 34 56 78"},
		{"0031 and OPR", "Vraag.\n\nGroet,\nEls\nOPR SWV Rijnmond\nT 0031 6 1234 5678", "OPR SWV Rijnmond", "0031 6 1234 5678"},
		{"M label", "Vraag.\n\nGroet,\nJan\nStichting X\nM 06 12345678", "Stichting X", "06 12345678"},
		{"fax is skipped", "Vraag.\n\nGroet,\nJan\nStichting X\nF 020 - 123 45 67\nT 020 - 123 45 68", "Stichting X", "020 - 123 45 68"},
		{"Fax: is skipped", "Vraag.\n\nGroet,\nJan\nStichting X\nFax: 020-1234567\nTel: 020-1234568", "Stichting X", "020-1234568"},
		{"i.o. and Scholengroep", "Vraag.\n\nVriendelijke groet,\n\nNoëlle\nkwartiermaker\nSamenwerkingsverband PO Zaanstreek i.o.\n06-22 87 91 05",
			"Samenwerkingsverband PO Zaanstreek i.o.", "06-22 87 91 05"},
		{"Scholengroep over department", "Q.\n\nKind regards,\n\nClaire\nInclusion coordinator (zorgcoördinator)\nScholengroep Zeeuws-Vlaanderen\nInternational Department\n+31 (0)114 31 77 60",
			"Scholengroep Zeeuws-Vlaanderen", "+31 (0)114 31 77 60"},
		{"OPR named first", "Vraag.\n\nMet vriendelijke groet,\n\nRenée Zwaagstra\nvoorzitter\nOndersteuningsplanraad Samenwerkingsverband PO Westfriesland\ntel. 06-18 44 27 05",
			"Ondersteuningsplanraad Samenwerkingsverband PO Westfriesland", "06-18 44 27 05"},
		{"capitalised school line without lead word", "Vraag.\n\nGroet,\nPiet\nleerkracht groep 8\nDe Regenboog, school voor speciaal basisonderwijs", "De Regenboog, school voor speciaal basisonderwijs", ""},
		{"no greeting: fallback to the last lines", "Anita, wil jij dit navragen?\n\nDank je!\nEls\nStichting Katholiek Primair Onderwijs Zaanstreek",
			"Stichting Katholiek Primair Onderwijs Zaanstreek", ""},
		{"quoted signature is ignored", "Dank!\n\nGroet,\nJan\n\nOp 3 feb. 2026 om 10:14 schreef PO-Raad <x@poraad.nl>:\n> Met vriendelijke groet,\n> Stichting Y\n> 030 - 123 45 67",
			"", ""},
		{"our own organisation is not the sender's", "Vraag.\n\nMet vriendelijke groet,\n\nProjectleiding Passend onderwijs\nPO-Raad\n", "", ""},
		{"dates and times are not phone numbers", "Op 03-02-2026 om 09.00 - 12.00 uur, groep 8, 20 personen, 2026 10 12.\n\nGroet,\nJan", "", ""},
		{"a count after the number is dropped", "Bel 06-12345678 10 keer.", "", "06-12345678"},
		{"too short", "Bel 030-12345.", "", ""},
		{"disclaimer ends the text", "Vraag.\n\nMet vriendelijke groet,\nJan\nGemeente Noordkop\n\nDit bericht is uitsluitend bestemd voor de geadresseerde. Tel 0800-1234567.", "Gemeente Noordkop", ""},
		{"street address is no organisation", "Vraag.\n\nGroet,\nPiet\nleerkracht\nSchoolstraat 1\nTiel", "", ""},
		{"function line with OPR is no organisation", "Vraag.\n\nGroet,\nPiet\nOPR-voorzitter\nSamenwerkingsverband PO Tiel", "Samenwerkingsverband PO Tiel", ""},
		{"nothing", "", "", ""},
	}
	for _, tt := range tests {
		org, phone := ExtractContact(tt.text)
		if org != tt.org || phone != tt.phone {
			t.Errorf("%s: ExtractContact = %q, %q; want %q, %q", tt.name, org, phone, tt.org, tt.phone)
		}
	}
}

func TestValidPhone(t *testing.T) {
	for in, want := range map[string]string{
		"0223 - 76 14 20":      "0223 - 76 14 20",
		"035 – 677 20 41":      "035 – 677 20 41",
		"+31 (0)35 628 91 40":  "+31 (0)35 628 91 40",
		"+31 35 628 91 40":     "+31 35 628 91 40",
		"+31 (0)35 628 91 4":   "",
		"(0224) 28 43 10":      "(0224) 28 43 10",
		"+44 20 7946 0958":     "+44 20 7946 0958",
		"0612345678":           "0612345678",
		"06-12345678 10":       "06-12345678",
		"06 -- 12345678":       "",
		"12-03-2026 10 11 12":  "",
		"020.123.45.67":        "020.123.45.67",
		"020/1234567":          "020/1234567",
		"0223   -   76 14 20":  "",
		"0223 - 76 14 20 - 15": "0223 - 76 14 20",
	} {
		if got := validPhone(in); got != want {
			t.Errorf("validPhone(%q) = %q, want %q", in, got, want)
		}
	}
}

// phoneRe is the pattern that phoneAt matches by hand.
var phoneRe = regexp.MustCompile(`(?:\+\d{1,3}[ \t]?(?:\(0\)[ \t]?)?\d|\(0\d{1,4}\)[ \t]*\d|\b0\d)[\d \t.\-–/]*\d`)

// phoneMatches lists the matches of phoneAt as FindAllStringIndex does.
func phoneMatches(s string) [][]int {
	var out [][]int
	for i := 0; i < len(s); i++ {
		if end := phoneAt(s, i); end >= 0 {
			out = append(out, []int{i, end})
			i = end - 1
		}
	}
	return out
}

func TestPhoneAtMatchesRegexp(t *testing.T) {
	cases := []string{
		"+31 (0)35 628 91 40", "+31 35 628 91 40", "(0224) 28 43 10", "0223 - 76 14 20", "035 – 677 20 41", "06-41 27 83 95",
		"06 - 5193 0472", "+316", "+31 6", "+3", "+31(0)6", "+31 (0) 6 1", "(0)", "(01234)5", "(012345) 6", "(0123)  \t 45", "a06 12", "_06 12",
		"é06 12", "0", "00", "0-", "06-", "06 –", "06–1", "+1234 5", "tel 020-1234567/8 fax", "2026-02-03 10:14", "+31 (0)", "+ 31 6",
	}
	alphabet := []string{"0", "1", "6", "9", "+", "(", ")", " ", "\t", ".", "-", "–", "/", "a", "_", "é", ":", "T"}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b []byte
		for range 1 + r.IntN(16) {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		if got, want := phoneMatches(s), phoneRe.FindAllStringIndex(s, -1); !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("phoneAt on %q: %v, want %v", s, got, want)
		}
	}
}

// The regular expressions that extract.go matches by hand, the reference
// for the matchers.
var (
	dateLikeRe = regexp.MustCompile(`^\d{1,2}[-./ ]\d{1,2}[-./ ](?:19|20)\d\d`)
	faxLabelRe = regexp.MustCompile(`(?i)(?:\bfax|\bf)\s*[.:]?\s*$`)
)

func TestExtractMatchersMatchRegexps(t *testing.T) {
	alphabet := []string{"0", "1", "2", "9", "19", "20", "12", "-", ".", "/", " ", "\t", "\v", "\r", ":", "f", "F", "fax", "FAX", "Fa", "x", "_", "é", "\xff", "tel", "+31",
		"@", "ww", "w.", "http", "htt", "po", "po-", "raad", "po raad", "projectleiding", " passend onderwijs"}
	dates, faxes := 0, 0
	lines := testLines(alphabet, 200000)
	r := rand.New(rand.NewPCG(7, 8))
	pick := func(list ...string) string { return list[r.IntN(len(list))] }
	for range 50000 {
		digits, seps := []string{"", "1", "12", "123", "a"}, []string{"-", ".", "/", " ", "x", "", "\t"}
		lines = append(lines, pick(digits...)+pick(seps...)+pick(digits...)+pick(seps...)+pick("19", "20", "21", "2", "1")+pick("", "5", "55", "5x", "555"))
	}
	for _, l := range lines {
		if got, want := isDateLike(l), dateLikeRe.MatchString(l); got != want {
			t.Errorf("isDateLike(%q) = %v, want %v", l, got, want)
		} else if got {
			dates++
		}
		if got, want := hasNonOrgMarker(l), strings.Contains(l, "@") || strings.Contains(l, "www.") || strings.Contains(l, "http") ||
			strings.Contains(l, "po-raad") || strings.Contains(l, "po raad") || strings.Contains(l, "projectleiding passend onderwijs"); got != want {
			t.Errorf("hasNonOrgMarker(%q) = %v, want %v", l, got, want)
		}
		if got, want := isFaxLabel(l), faxLabelRe.MatchString(l); got != want {
			t.Errorf("isFaxLabel(%q) = %v, want %v", l, got, want)
		} else if got {
			faxes++
		}
	}
	if dates < 100 || faxes < 100 {
		t.Errorf("only %d dates and %d fax labels matched: the test lines miss the cases", dates, faxes)
	}
}
