package intake

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"
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
	b := getLineBufs()
	defer b.release()
	b.lines = splitLinesInto(b.lines, clipText(text, maxClassifyText))
	st := stripTextInto(b.text, b.lines)
	b.text = st.lines
	return st.contact()
}

// contact is ExtractContact of the text whose quotes s has stripped.
func (s strippedText) contact() (org, phone string) {
	lines := s.lines
	// Disclaimers and footers end the useful text; the signature block
	// starts at the closing greeting or separator before them.
	start := -1
	if s.sig >= 0 {
		if isDisclaimer(lines[s.sig]) {
			lines = lines[:s.sig]
		} else {
			start = s.sig
			for i := start + 1; i < len(lines); i++ {
				if isDisclaimer(lines[i]) {
					lines = lines[:i]
					break
				}
			}
		}
	}
	a := foldArenas.Get().(*foldArena)
	defer a.release()
	if start >= 0 {
		sig := lines[start+1:]
		// The sign-off line itself may carry the name and more
		// ("Met vriendelijke groet, Jan"); only the lines below count.
		org = orgInLines(a, sig)
		phone = phoneInLines(sig)
	}
	if org == "" {
		org = orgFallback(a, lines)
	}
	if phone == "" {
		phone = phoneInLines(lines)
	}
	return org, phone
}

// foldArena holds folded text for the organisation rules: fold returns
// foldText(s) as a view of its buffer instead of a string of its own. The
// views are only looked at, and only until release.
type foldArena struct {
	buf []byte
}

var foldArenas = sync.Pool{New: func() any { return new(foldArena) }}

// fold returns foldText(s), valid until a.release.
func (a *foldArena) fold(s string) string {
	if foldedPrefix(s) == len(s) {
		return s
	}
	start := len(a.buf)
	// Bytes before start are never written again: a view of them stays
	// valid even when append moves the buffer.
	a.buf = appendFold(a.buf, s)
	f := a.buf[start:]
	return unsafe.String(unsafe.SliceData(f), len(f))
}

// release gives a back to foldArenas; no view of it may be used after.
func (a *foldArena) release() {
	if cap(a.buf) > 1<<16 {
		return
	}
	a.buf = a.buf[:0]
	foldArenas.Put(a)
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
func orgInLines(a *foldArena, lines []string) string {
	var derived, second string
	var segs [8]string
	n := 0
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n++
		if n > 10 {
			break
		}
		for _, seg := range lineSegments(segs[:0], l) {
			f, ok := orgLineOK(a, seg)
			if !ok {
				continue
			}
			if hasLeadWord(f, orgLeads) {
				return seg
			}
			if second == "" && n > 1 && startsUpper(seg) && !isFunctionLine(f) && containsAny(f, orgWords) {
				second = seg
			}
			if derived != "" {
				continue
			}
			for _, d := range afterFunction(a, seg, f) {
				fd, ok := orgLineOK(a, d)
				if !ok {
					continue
				}
				if hasLeadWord(fd, orgLeads) || startsUpper(d) && containsAny(fd, orgWords) {
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
func orgFallback(a *foldArena, lines []string) string {
	var derived string
	var segs [8]string
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
		for _, seg := range lineSegments(segs[:0], l) {
			f, ok := orgLineOK(a, seg)
			if ok && hasLeadWord(f, orgLeads) {
				return seg
			}
			if f == "" {
				f = a.fold(seg)
			}
			for _, d := range afterFunction(a, seg, f) {
				if derived == "" {
					if fd, ok := orgLineOK(a, d); ok && hasLeadWord(fd, orgLeads) {
						derived = d
					}
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
// own council, not an organisation. f is foldText(seg).
func afterFunction(a *foldArena, seg, f string) []string {
	if !isFunctionLine(f) {
		return nil
	}
	var out []string
	if _, after, ok := strings.Cut(seg, ", "); ok {
		if after = strings.TrimSpace(after); moreFieldsThan(after, 1) && !isFunctionLine(a.fold(after)) {
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
		if moreFieldsThan(rest, 1) && hasLeadWord(a.fold(rest), orgLeads) {
			out = append(out, rest)
			break
		}
	}
	return out
}

// lineSegments splits a signature line at " | ", " • ", " - " and tabs,
// trims the parts and the markup an HTML conversion may leave ("*Name*"),
// appending them to out.
func lineSegments(out []string, l string) []string {
	if hasSegmentSeparator(l) {
		l = segmentSeparators.Replace(l)
	}
	for {
		p, rest, more := strings.Cut(l, "|")
		p = strings.TrimSpace(strings.Trim(strings.TrimSpace(p), "*_"))
		if p != "" {
			out = append(out, p)
		}
		if !more {
			return out
		}
		l = rest
	}
}

// hasSegmentSeparator reports whether l holds a separator that
// segmentSeparators replaces.
func hasSegmentSeparator(l string) bool {
	if strings.IndexByte(l, '\t') >= 0 || strings.Contains(l, " - ") {
		return true
	}
	if isASCII(l) {
		return false // every other separator has a non-ASCII byte
	}
	return strings.Contains(l, " • ") || strings.Contains(l, " · ") || strings.Contains(l, " ¦ ") || strings.Contains(l, " – ")
}

// hasNonOrgMarker reports whether the folded line f contains "@",
// "www.", "http", "po-raad", "po raad" or "projectleiding passend
// onderwijs": an address, a link or our own organisation.
func hasNonOrgMarker(f string) bool {
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '@':
			return true
		case 'w':
			if strings.HasPrefix(f[i:], "www.") {
				return true
			}
		case 'h':
			if strings.HasPrefix(f[i:], "http") {
				return true
			}
		case 'p':
			if strings.HasPrefix(f[i:], "po-raad") || strings.HasPrefix(f[i:], "po raad") ||
				strings.HasPrefix(f[i:], "projectleiding passend onderwijs") {
				return true
			}
		}
	}
	return false
}

// orgLineOK rules out lines that cannot be an organisation name: too long,
// an address, URL or label, a sentence, our own organisation. f is
// foldText(s) (a view of a), or "" when s is too short or too long to look
// at.
func orgLineOK(a *foldArena, s string) (f string, ok bool) {
	if len(s) < 3 || len(s) > 100 || moreFieldsThan(s, 12) {
		return "", false
	}
	f = a.fold(s)
	if hasNonOrgMarker(f) {
		return f, false
	}
	if strings.ContainsAny(s, ":?!;") || (hasASCIIDigit(f) && streetRe.MatchString(f)) { // streetRe needs a digit
		return f, false
	}
	digits := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if isASCIIDigit(c) {
				digits++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsDigit(r) {
			digits++
		}
		i += size
	}
	return f, digits <= 4
}

// streetRe matches a street address ("Schoolstraat 12"), which is no
// organisation even when it contains "school".
var streetRe = regexp.MustCompile(`[a-z](?:straat|laan|weg|plein|pad|dreef|singel|kade|gracht|hof|park|markt)\s+\d`)

// leadWords are words that start a line, each one or more whole words.
type leadWords struct {
	list  []string
	first map[string]bool // the first word of each
}

func newLeadWords(list []string) *leadWords {
	lw := &leadWords{list: list, first: map[string]bool{}}
	for _, w := range list {
		lw.first[firstWord(w)] = true
	}
	return lw
}

var orgLeads = newLeadWords(orgLeadWords)

// hasLeadWord reports whether the folded line f starts with one of words.
// A council followed by a function ("OPR-voorzitter", "GMR-lid") names a
// function, not an organisation.
func hasLeadWord(f string, words *leadWords) bool {
	if !words.first[firstWord(f)] {
		return false // no lead word starts with the same word
	}
	if foldedPrefix(f) == len(f) {
		// ASCII without upper case: its words need no strings.
		var jb [128]byte
		j, n, w1 := appendASCIIWords(jb[:0], f)
		for _, w := range words.list {
			if hasLeadPhrase(j, w) {
				return !(slices.Contains(councilWords, w) && n > 1 && isFunctionLine(w1))
			}
		}
		return false
	}
	ws := wordsOf(f)
	j := strings.Join(ws, " ")
	for _, w := range words.list {
		if j == w || strings.HasPrefix(j, w+" ") {
			if slices.Contains(councilWords, w) && len(ws) > 1 && isFunctionLine(ws[1]) {
				return false
			}
			return true
		}
	}
	return false
}

// firstWord is wordsOf(s)[0], or "" when s has no word.
func firstWord(s string) string {
	f := foldText(s)
	start := -1
	for i := 0; i < len(f); {
		c := f[i]
		word, size := asciiClass[c] == classWord, 1
		if c >= utf8.RuneSelf {
			var r rune
			r, size = utf8.DecodeRuneInString(f[i:])
			word = isWordRune(r)
		}
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			return f[start:i]
		}
		i += size
	}
	if start >= 0 {
		return f[start:]
	}
	return ""
}

// councilWords are lead words of participation councils.
var councilWords = []string{"opr", "gmr", "medezeggenschapsraad", "ondersteuningsplanraad"}

// isFunctionLine reports whether the folded line f starts with a function
// word, also as the start of a compound ("beleidsmedewerker").
func isFunctionLine(f string) bool {
	w0 := firstWord(f)
	if w0 == "" {
		return false
	}
	for _, w := range functionWordsBy[w0[0]] {
		if w0 == w || (len(w) >= 4 && strings.HasPrefix(w0, w)) {
			return true
		}
	}
	return false
}

// functionWordsBy lists functionWords by their first byte.
var functionWordsBy = func() (by [256][]string) {
	for _, w := range functionWords {
		by[w[0]] = append(by[w[0]], w)
	}
	return by
}()

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
// phoneAt matches the regular expression
//
//	(?:\+\d{1,3}[ \t]?(?:\(0\)[ \t]?)?\d|\(0\d{1,4}\)[ \t]*\d|\b0\d)[\d \t.\-–/]*\d
//
// at s[i], with its backtracking, and returns the end of the match or -1.
func phoneAt(s string, i int) int {
	switch s[i] {
	case '+':
		d := digitRun(s, i+1)
		for k := min(d, 3); k >= 1; k-- {
			p0 := i + 1 + k
			for p := afterBlank(s, p0); p >= p0; p-- {
				if strings.HasPrefix(s[p:], "(0)") {
					for q := afterBlank(s, p+3); q >= p+3; q-- {
						if e := phoneTail(s, q); e >= 0 {
							return e
						}
					}
				}
				if e := phoneTail(s, p); e >= 0 {
					return e
				}
			}
		}
	case '(':
		if !strings.HasPrefix(s[i:], "(0") {
			return -1
		}
		d := digitRun(s, i+2)
		p := i + 2 + d
		if d < 1 || d > 4 || p >= len(s) || s[p] != ')' {
			return -1
		}
		p++
		for p < len(s) && (s[p] == ' ' || s[p] == '\t') {
			p++
		}
		return phoneTail(s, p)
	case '0':
		if i > 0 && isASCIIWordByte(s[i-1]) || i+1 >= len(s) || !isASCIIDigit(s[i+1]) {
			return -1
		}
		return phoneTail(s, i+1)
	}
	return -1
}

// phoneTail matches `\d[\d \t.\-–/]*\d` at s[i]: the end is after the
// last digit of the run of those characters, which needs two digits.
func phoneTail(s string, i int) int {
	if i >= len(s) || !isASCIIDigit(s[i]) {
		return -1
	}
	end := -1
	for j := i + 1; j < len(s); {
		switch c := s[j]; {
		case isASCIIDigit(c):
			j++
			end = j
		case c == ' ' || c == '\t' || c == '.' || c == '-' || c == '/':
			j++
		case strings.HasPrefix(s[j:], "–"):
			j += len("–")
		default:
			return end
		}
	}
	return end
}

// digitRun returns how many ASCII digits start s[i:].
func digitRun(s string, i int) int {
	n := 0
	for i+n < len(s) && isASCIIDigit(s[i+n]) {
		n++
	}
	return n
}

// afterBlank returns i+1 when s[i] is a space or tab, else i: with
// `[ \t]?` the longer match is tried first.
func afterBlank(s string, i int) int {
	if i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		return i + 1
	}
	return i
}

// isDateLike reports whether c starts like a date, as the regular
// expression ^\d{1,2}[-./ ]\d{1,2}[-./ ](?:19|20)\d\d matches (dateLikeRe in
// extract_test.go): one or two digits, a
// separator (- . / or space), one or two digits, a separator, and a year
// of 19xx or 20xx. Each part can match in one way only.
func isDateLike(c string) bool {
	i := 0
	for range 2 {
		d := 0
		for d < 2 && i+d < len(c) && isASCIIDigit(c[i+d]) {
			d++
		}
		if d == 0 || i+d >= len(c) {
			return false
		}
		if sep := c[i+d]; sep != '-' && sep != '.' && sep != '/' && sep != ' ' {
			return false
		}
		i += d + 1
	}
	return len(c)-i >= 4 && (c[i] == '1' && c[i+1] == '9' || c[i] == '2' && c[i+1] == '0') &&
		isASCIIDigit(c[i+2]) && isASCIIDigit(c[i+3])
}

// phoneInLines returns the first valid phone number in lines.
func phoneInLines(lines []string) string {
	for _, l := range lines {
		if !hasASCIIDigit(l) {
			continue // a number needs a digit
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; c != '+' && c != '(' && c != '0' {
				continue
			}
			end := phoneAt(l, i)
			if end < 0 {
				continue
			}
			if !isFaxLabel(l[:i]) {
				if p := validPhone(l[i:end]); p != "" {
					return p
				}
			}
			i = end - 1
		}
	}
	return ""
}

// isFaxLabel reports whether the regular expression
// (?i)(?:\bfax|\bf)\s*[.:]?\s*$ matches before (faxLabelRe in
// extract_test.go): it ends with
// "fax" or "f" in any case after a word boundary, then white space, at
// most one '.' or ':' and white space.
func isFaxLabel(before string) bool {
	s := trimRESpaceRight(before)
	if n := len(s); n > 0 && (s[n-1] == '.' || s[n-1] == ':') {
		s = trimRESpaceRight(s[:n-1])
	}
	n := len(s)
	if n >= 3 && s[n-3]|0x20 == 'f' && s[n-2]|0x20 == 'a' && s[n-1]|0x20 == 'x' && (n == 3 || !isASCIIWordByte(s[n-4])) {
		return true
	}
	return n >= 1 && s[n-1]|0x20 == 'f' && (n == 1 || !isASCIIWordByte(s[n-2]))
}

// trimRESpaceRight trims white space as \s of regexp means it off the end
// of s.
func trimRESpaceRight(s string) string {
	for len(s) > 0 && isRESpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// isRESpace reports whether c is white space as \s of regexp means it.
func isRESpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// validPhone checks a candidate: separators between digit groups are at
// most three characters with one dash, dot or slash; a national number has
// ten digits, +31 (or 0031) nine after the country code and optional (0),
// another country code 8 to 15 digits in all (with 00, 10 to 17). Trailing groups that make the number
// too long (a date or count written after it) are dropped.
func validPhone(c string) string {
	c = strings.TrimSpace(c)
	if isDateLike(c) {
		return ""
	}
	// Split into digit groups and the separators between them.
	type group struct{ start, end int } // byte offsets in c of a digit run
	var gb [16]group
	groups := gb[:0]
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
