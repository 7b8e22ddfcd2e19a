package workflow

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/poraad/loket/intake"
)

// Matching a requester's answer to a date proposal. The answer is read
// without its quoted part (which repeats every option), sentence by
// sentence; a sentence that says "niet", "helaas" or "geen" does not
// choose. What matches, in order of trust: an option number ("optie 2"),
// a date ("12 maart", "12-3"), an ordinal ("de tweede datum"), a weekday
// alone ("donderdag") when only one slot falls on it. Two different slots
// at the same level give no suggestion: a person decides.

var (
	reOption  = regexp.MustCompile(`\b(?:optie|option|voorstel|mogelijkheid|keuze|nummer|nr\.?)\s*(\d)\b`)
	reDayMon  = regexp.MustCompile(`\b(\d{1,2})\s+(januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|jan|feb|mrt|apr|jun|jul|aug|sep|sept|okt|nov|dec)\b`)
	reNumDate = regexp.MustCompile(`\b(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{2,4}))?\b`)
	reOrdinal = regexp.MustCompile(`\b(eerste|tweede|derde|vierde|vijfde|zesde|zevende|achtste|negende|laatste|first|second|third|last)\s+(?:datum|data|optie|moment|voorstel|dag|mogelijkheid|keuze|tijdstip|date|option)\b`)
	reWeekday = regexp.MustCompile(`\b(maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag)\b`)
	reNegate  = regexp.MustCompile(`\b(niet|helaas|geen|not|cannot|can't)\b`)
)

var monthNumbers = map[string]time.Month{
	"januari": 1, "jan": 1, "februari": 2, "feb": 2, "maart": 3, "mrt": 3, "april": 4, "apr": 4, "mei": 5,
	"juni": 6, "jun": 6, "juli": 7, "jul": 7, "augustus": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
	"oktober": 10, "okt": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}

var ordinals = map[string]int{"eerste": 1, "first": 1, "tweede": 2, "second": 2, "derde": 3, "third": 3,
	"vierde": 4, "vijfde": 5, "zesde": 6, "zevende": 7, "achtste": 8, "negende": 9}

var weekdayNumbers = map[string]time.Weekday{"zondag": 0, "maandag": 1, "dinsdag": 2, "woensdag": 3,
	"donderdag": 4, "vrijdag": 5, "zaterdag": 6}

// MatchSlot returns the slot an answer seems to choose, if exactly one.
func MatchSlot(text string, slots []Slot) (Suggestion, bool) {
	if len(slots) == 0 {
		return Suggestion{}, false
	}
	text = strings.ToLower(intake.StripQuoted(text))
	levels := make([]map[int]string, 4) // option, date, ordinal, weekday -> slot -> matched words
	for i := range levels {
		levels[i] = map[int]string{}
	}
	for _, sentence := range splitSentences(text) {
		if reNegate.MatchString(sentence) {
			continue
		}
		for _, m := range reOption.FindAllStringSubmatch(sentence, -1) {
			if n, _ := strconv.Atoi(m[1]); n >= 1 && n <= len(slots) {
				levels[0][n] = m[0]
			}
		}
		for _, m := range reDayMon.FindAllStringSubmatch(sentence, -1) {
			day, _ := strconv.Atoi(m[1])
			for i, s := range slots {
				st := s.Start.In(amsterdam)
				if st.Day() == day && st.Month() == monthNumbers[m[2]] {
					levels[1][i+1] = m[0]
				}
			}
		}
		for _, m := range reNumDate.FindAllStringSubmatch(sentence, -1) {
			day, _ := strconv.Atoi(m[1])
			mon, _ := strconv.Atoi(m[2])
			for i, s := range slots {
				st := s.Start.In(amsterdam)
				if st.Day() == day && int(st.Month()) == mon {
					levels[1][i+1] = m[0]
				}
			}
		}
		for _, m := range reOrdinal.FindAllStringSubmatch(sentence, -1) {
			n := ordinals[m[1]]
			if m[1] == "laatste" || m[1] == "last" {
				n = len(slots)
			}
			if n >= 1 && n <= len(slots) {
				levels[2][n] = m[0]
			}
		}
		for _, m := range reWeekday.FindAllStringSubmatch(sentence, -1) {
			hits := 0
			pick := 0
			for i, s := range slots {
				if s.Start.In(amsterdam).Weekday() == weekdayNumbers[m[1]] {
					hits++
					pick = i + 1
				}
			}
			if hits == 1 {
				levels[3][pick] = m[0]
			}
		}
	}
	for _, l := range levels {
		switch len(l) {
		case 0:
			continue
		case 1:
			for n, words := range l {
				s := slots[n-1]
				return Suggestion{Slot: n, Start: s.Start, End: s.End, Matched: words}, true
			}
		}
		return Suggestion{}, false // two slots at the same level: ambiguous
	}
	return Suggestion{}, false
}

func splitSentences(text string) []string {
	text = strings.ReplaceAll(text, ". ", "\n")
	return strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '!' || r == '?' || r == ';' || r == ',' })
}
