package intake

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// ExtractContact finds the sender's organisation and phone number in the
// text of a mail, exactly as written there (trimmed), or "" when absent.
//
// Quoted text is ignored (StripQuoted): a reply quotes our own signature.
// The signature block after the closing greeting is read first: the
// organisation is its first line that names one — starting with
// Samenwerkingsverband, SWV, Stichting, Gemeente, Scholengroep,
// Ondersteuningsplanraad, Dagblad, International School and the like, or
// else a capitalised line about a school or "Onderwijs" below the name and
// function lines. The phone number is the first Dutch or international
// number in the signature, else in the body ("bereikbaar op 06-41 27 83
// 95"), without its label ("T", "Tel.", "Telefoon:", "M", "Mob.").
// Fax numbers and our own organisation (PO-Raad) are never taken. Only the
// first 64 KiB of text are read.
func ExtractContact(text string) (org, phone string) {
	lines := splitLines(StripQuoted(clipText(text, maxClassifyText)))
	// Disclaimers and footers end the useful text.
	for i, l := range lines {
		if isDisclaimer(l) {
			lines = lines[:i]
			break
		}
	}
	start := -1
	for i, l := range lines {
		if isSignOff(l) || isSigSeparator(l) {
			start = i
			break
		}
	}
	if start >= 0 {
		sig := lines[start+1:]
		// The sign-off line itself may carry the name and more
		// ("Met vriendelijke groet, Jan"); only the lines below count.
		org = orgInLines(sig)
		phone = phoneInLines(sig)
	}
	if org == "" {
		org = orgFallback(lines)
	}
	if phone == "" {
		phone = phoneInLines(lines)
	}
	return org, phone
}

// orgLeadWords start a line that names an organisation. Matched on the
// folded line, as whole words.
var orgLeadWords = []string{
	"samenwerkingsverband", "swv", "stichting", "gemeente", "scholengroep",
	"scholengemeenschap", "schoolbestuur", "ondersteuningsplanraad",
	"dagblad", "international school", "internationale school", "vereniging",
	"onderwijsgroep", "onderwijsstichting", "kindcentrum", "integraal kindcentrum", "ikc",
	"basisschool", "obs", "cbs", "pcbs", "rkbs", "sbo", "sbao", "vso", "praktijkschool",
	"expertisecentrum", "regionaal expertisecentrum", "ministerie", "ouderorganisatie",
	"steunpunt", "uitgeverij", "omroep", "krant", "universiteit", "hogeschool",
	"openbaar onderwijs", "katholiek onderwijs", "christelijk onderwijs",
	"opr", "medezeggenschapsraad", "gmr", "scholenstichting", "schoolvereniging", "cooperatie",
	"onderwijscooperatie", "kindcentra", "jeugdteam", "wijkteam", "ggd",
	"onderwijsnetwerk", "kenniscentrum", "university", "university college", "school board",
}

// orgWords occur in a capitalised line that names an educational
// organisation without a lead word ("Het Baken, school voor vso", "Lyceum
// De Duinen", "Passend Onderwijs Zaanstreek").
var orgWords = []string{
	"onderwijs", "school", "scholen", "college", "lyceum", "academie", "kindcentr",
	"universiteit", "hogeschool", "samenwerkingsverband", "swv", "gymnasium",
}

// functionWords start a line that names a function, not an organisation.
var functionWords = []string{
	"directeur", "adjunct", "coordinator", "beleids", "teamleider", "manager", "secretaris",
	"voorzitter", "lid", "medewerker", "adviseur", "intern", "orthopedagoog", "leerkracht",
	"leraar", "docent", "head", "hoofd", "projectleider", "kwartiermaker", "bestuurder",
	"controller", "communicatie", "managementassistent", "assistent", "zorgcoordinator",
	"mentor", "consulent", "bovenschools", "senior", "junior", "coach", "inclusion",
	"verslaggever", "redacteur", "ib", "ambtenaar", "leerplichtambtenaar",
	"trajectbegeleider", "psycholoog", "schoolleider", "locatieleider", "officemanager",
	"principal", "lecturer", "teacher", "director", "headteacher", "deputy", "student", "researcher",
	"onderzoeker", "promovendus", "advisor", "consultant", "policy", "ondersteuner", "stafmedewerker",
	"office", "secretary", "chair", "chairman",
}

// orgInLines returns the organisation in a signature block: the first line
// with a lead word, else the organisation after a function on a line
// ("kwartiermaker SWV Oostermeer"), else the first capitalised line with an
// org word that is not the name line (the first line) or a function line.
func orgInLines(lines []string) string {
	var derived, second string
	n := 0
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n++
		if n > 10 {
			break
		}
		for _, seg := range lineSegments(l) {
			if !orgLineOK(seg) {
				continue
			}
			f := foldText(seg)
			if hasLeadWord(f, orgLeadWords) {
				return seg
			}
			if second == "" && n > 1 && startsUpper(seg) && !isFunctionLine(f) && containsAny(f, orgWords) {
				second = seg
			}
			if derived != "" {
				continue
			}
			for _, d := range afterFunction(seg) {
				if !orgLineOK(d) {
					continue
				}
				if fd := foldText(d); hasLeadWord(fd, orgLeadWords) || startsUpper(d) && containsAny(fd, orgWords) {
					derived = d
					break
				}
			}
		}
	}
	if derived != "" {
		return derived
	}
	return second
}

// orgFallback looks for a short line with a lead word among the last lines
// of the text, for a mail without a recognisable closing greeting or
// without an organisation below it.
func orgFallback(lines []string) string {
	var derived string
	seen := 0
	for i := len(lines) - 1; i >= 0 && seen < 8; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		seen++
		if moreFieldsThan(l, 10) {
			continue
		}
		for _, seg := range lineSegments(l) {
			if orgLineOK(seg) && hasLeadWord(foldText(seg), orgLeadWords) {
				return seg
			}
			for _, d := range afterFunction(seg) {
				if derived == "" && orgLineOK(d) && hasLeadWord(foldText(d), orgLeadWords) {
					derived = d
				}
			}
		}
	}
	return derived
}

// afterFunction returns, for a signature segment that names a function
// first, the organisation that may follow it: "Principal, VSO De Waalbocht"
// gives "VSO De Waalbocht", "kwartiermaker SWV Oostermeer (i.o.)" gives "SWV
// Oostermeer (i.o.)". A single word ("voorzitter OPR") is the function's
// own council, not an organisation.
func afterFunction(seg string) []string {
	if !isFunctionLine(foldText(seg)) {
		return nil
	}
	var out []string
	if _, after, ok := strings.Cut(seg, ", "); ok {
		if after = strings.TrimSpace(after); len(strings.Fields(after)) > 1 && !isFunctionLine(foldText(after)) {
			out = append(out, after)
		}
	}
	rest := seg
	for {
		i := strings.IndexAny(rest, " \t")
		if i < 0 {
			break
		}
		rest = strings.TrimLeft(rest[i:], " \t")
		if len(strings.Fields(rest)) > 1 && hasLeadWord(foldText(rest), orgLeadWords) {
			out = append(out, rest)
			break
		}
	}
	return out
}

// lineSegments splits a signature line at " | ", " • ", " - " and tabs,
// trims the parts and the markup an HTML conversion may leave ("*Name*").
func lineSegments(l string) []string {
	l = segmentSeparators.Replace(l)
	var out []string
	for _, p := range strings.Split(l, "|") {
		p = strings.TrimSpace(strings.Trim(strings.TrimSpace(p), "*_"))
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// orgLineOK rules out lines that cannot be an organisation name: too long,
// an address, URL or label, a sentence, our own organisation.
func orgLineOK(s string) bool {
	if len(s) < 3 || len(s) > 100 || len(strings.Fields(s)) > 12 {
		return false
	}
	f := foldText(s)
	if strings.Contains(f, "@") || strings.Contains(f, "www.") || strings.Contains(f, "http") ||
		strings.Contains(f, "po-raad") || strings.Contains(f, "po raad") || strings.Contains(f, "projectleiding passend onderwijs") {
		return false
	}
	if strings.ContainsAny(s, ":?!;") || (hasASCIIDigit(f) && streetRe.MatchString(f)) { // streetRe needs a digit
		return false
	}
	digits := 0
	for _, r := range s {
		if unicode.IsDigit(r) {
			digits++
		}
	}
	return digits <= 4
}

// streetRe matches a street address ("Schoolstraat 12"), which is no
// organisation even when it contains "school".
var streetRe = regexp.MustCompile(`[a-z](?:straat|laan|weg|plein|pad|dreef|singel|kade|gracht|hof|park|markt)\s+\d`)

// hasLeadWord reports whether the folded line f starts with one of words
// (each one or more whole words). A council followed by a function
// ("OPR-voorzitter", "GMR-lid") names a function, not an organisation.
func hasLeadWord(f string, words []string) bool {
	ws := wordsOf(f)
	j := strings.Join(ws, " ")
	for _, w := range words {
		if j == w || strings.HasPrefix(j, w+" ") {
			if slices.Contains(councilWords, w) && len(ws) > 1 && isFunctionLine(ws[1]) {
				return false
			}
			return true
		}
	}
	return false
}

// councilWords are lead words of participation councils.
var councilWords = []string{"opr", "gmr", "medezeggenschapsraad", "ondersteuningsplanraad"}

// isFunctionLine reports whether the folded line f starts with a function
// word, also as the start of a compound ("beleidsmedewerker").
func isFunctionLine(f string) bool {
	ws := wordsOf(f)
	if len(ws) == 0 {
		return false
	}
	for _, w := range functionWords {
		if ws[0] == w || (len(w) >= 4 && strings.HasPrefix(ws[0], w)) {
			return true
		}
	}
	return false
}

func startsUpper(s string) bool {
	for _, r := range s {
		return unicode.IsUpper(r) || unicode.IsDigit(r)
	}
	return false
}

func containsAny(s string, subs []string) bool {
	for _, w := range subs {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// Phone numbers: +31 (0)35 628 91 40, +31 35 628 91 40, (0224) 28 43 10,
// 0223 - 76 14 20, 035 – 677 20 41, 06-41 27 83 95, 06 - 5193 0472.
var phoneRe = regexp.MustCompile(`(?:\+\d{1,3}[ \t]?(?:\(0\)[ \t]?)?\d|\(0\d{1,4}\)[ \t]*\d|\b0\d)[\d \t.\-–/]*\d`)

var dateLikeRe = regexp.MustCompile(`^\d{1,2}[-./ ]\d{1,2}[-./ ](?:19|20)\d\d`)

// phoneInLines returns the first valid phone number in lines.
func phoneInLines(lines []string) string {
	for _, l := range lines {
		if !hasASCIIDigit(l) {
			continue // phoneRe needs a digit
		}
		for _, loc := range phoneRe.FindAllStringIndex(l, -1) {
			if isFaxLabel(l[:loc[0]]) {
				continue
			}
			if p := validPhone(l[loc[0]:loc[1]]); p != "" {
				return p
			}
		}
	}
	return ""
}

var faxLabelRe = regexp.MustCompile(`(?i)(?:\bfax|\bf)\s*[.:]?\s*$`)

func isFaxLabel(before string) bool {
	return faxLabelRe.MatchString(before)
}

// validPhone checks a candidate: separators between digit groups are at
// most three characters with one dash, dot or slash; a national number has
// ten digits, +31 (or 0031) nine after the country code and optional (0),
// another country code 8 to 15 digits in all (with 00, 10 to 17). Trailing groups that make the number
// too long (a date or count written after it) are dropped.
func validPhone(c string) string {
	c = strings.TrimSpace(c)
	if dateLikeRe.MatchString(c) {
		return ""
	}
	// Split into digit groups and the separators between them.
	type group struct{ start, end int } // byte offsets in c of a digit run
	var groups []group
	for i := 0; i < len(c); {
		if isASCIIDigit(c[i]) {
			j := i
			for j < len(c) && isASCIIDigit(c[j]) {
				j++
			}
			groups = append(groups, group{i, j})
			i = j
			continue
		}
		i++
	}
	// Cut at the first bad separator.
	for k := 1; k < len(groups); k++ {
		sep := c[groups[k-1].end:groups[k].start]
		if !goodSeparator(sep) {
			groups = groups[:k]
			break
		}
	}
	for len(groups) > 0 {
		cand := c[:groups[len(groups)-1].end]
		switch phoneDigitsOK(cand) {
		case 0:
			if strings.Count(cand, "(") != strings.Count(cand, ")") {
				return ""
			}
			return cand
		case 1: // too many digits: drop the last group
			groups = groups[:len(groups)-1]
		default:
			return ""
		}
	}
	return ""
}

// goodSeparator allows " ", "-", " - ", " – ", ".", "/", "(0)" framing.
func goodSeparator(sep string) bool {
	if sep == "" || len(sep) > 6 {
		return false
	}
	t := strings.TrimSpace(sep)
	switch t {
	case "", "-", "–", ".", "/", "(0)", ")", "(", ") (":
		return len(sep)-len(t) <= 2
	}
	return false
}

// phoneDigitsOK returns 0 when the digit count fits, 1 when there are too
// many and -1 when too few.
func phoneDigitsOK(c string) int {
	digits := 0
	for i := 0; i < len(c); i++ {
		if isASCIIDigit(c[i]) {
			digits++
		}
	}
	want := func(lo, hi int) int {
		switch {
		case digits < lo:
			return -1
		case digits > hi:
			return 1
		}
		return 0
	}
	switch {
	case strings.HasPrefix(c, "+31"):
		if strings.Contains(c, "(0)") {
			return want(12, 12)
		}
		return want(11, 11)
	case strings.HasPrefix(c, "+"):
		return want(8, 15)
	case strings.HasPrefix(c, "0031"):
		if strings.Contains(c, "(0)") {
			return want(14, 14)
		}
		return want(13, 13)
	case strings.HasPrefix(c, "00"):
		return want(10, 17)
	default:
		return want(10, 10)
	}
}
