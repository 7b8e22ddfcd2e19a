package intake

import (
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Quoted text never drives classification: a reply quotes our
// acknowledgement and the original request, and both name request types the
// reply is not about. StripQuoted and StripSignature reduce a body to what
// the sender wrote this time; splitForward finds the question inside a mail
// that an assistant forwarded to us.
//
// All three work line by line on plain text (Message.Text) and recognise the
// conventions of the clients requesters use: Outlook (header blocks
// "Van: … Verzonden: …", "-----Oorspronkelijk bericht-----"), Gmail and
// Apple Mail ("Op … schreef …:", "---------- Doorgestuurd bericht ---------",
// "Begin doorgestuurd bericht:"), Thunderbird and webmail ("> " prefixes).

// StripQuoted returns text without the quoted parts of a reply or forward:
// lines starting with ">", attribution lines ("Op 3 feb. 2026 om 10:14 schreef
// X:", "On … wrote:") and everything after an Outlook header block
// ("Van:/From:" followed by "Verzonden:/Sent:", "Aan:/To:", "Onderwerp:/
// Subject:"), an "-----Oorspronkelijk bericht-----" or "-----Original
// Message-----" line, or a forward marker. Text written between quoted lines
// (an interleaved reply) is kept. Line endings become "\n"; trailing blank
// lines are removed.
func StripQuoted(text string) string {
	return strings.Join(stripQuotedLines(splitLines(text)), "\n")
}

// stripQuotedLines is StripQuoted on the lines of a text: the lines kept,
// without trailing blank lines.
func stripQuotedLines(lines []string) []string {
	return stripQuotedLinesInto(make([]string, 0, len(lines)), lines)
}

// stripQuotedLinesInto is stripQuotedLines appending to out[:0].
func stripQuotedLinesInto(out []string, lines []string) []string {
	out = out[:0]
	for i := 0; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if strings.HasPrefix(t, ">") {
			continue
		}
		if isOriginalMessageLine(t) || isForwardMarker(t) || isHeaderBlockAt(lines, i) {
			break
		}
		if isRuleLine(t) && isHeaderBlockAt(lines, nextNonBlank(lines, i+1)) {
			break
		}
		if n := attributionAt(lines, i, t); n > 0 {
			next := nextNonBlank(lines, i+n)
			if next < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[next]), ">") {
				// Bottom-posted or interleaved: drop the attribution and
				// let the ">" lines be dropped one by one.
				i += n - 1
				continue
			}
			break
		}
		out = append(out, lines[i])
	}
	return trimBlankTail(out)
}

// StripSignature returns text up to the closing greeting ("Met vriendelijke
// groet", "Vriendelijke groet", "Met hartelijke groet", "Groet,", "Kind
// regards", "Best regards", …), the "-- " signature separator, a legal
// disclaimer ("Dit bericht is uitsluitend bestemd voor …", "This e-mail and
// any attachments …") or a mobile footer ("Verstuurd vanaf mijn iPad"),
// whichever comes first. The result is a prefix of the input's lines.
func StripSignature(text string) string {
	lines := splitLines(text)
	if i := signatureStart(lines); i >= 0 {
		lines = lines[:i]
	}
	return joinTrimmed(lines)
}

// strippedText is a text's lines without the quoted parts (StripQuoted)
// and the line where its signature starts (signatureStart), or -1.
type strippedText struct {
	lines []string
	sig   int
}

// stripTextInto strips the quoted parts of the text of lines, keeping
// the lines in buf[:0].
func stripTextInto(buf, lines []string) strippedText {
	q := stripQuotedLinesInto(buf, lines)
	return strippedText{lines: q, sig: signatureStart(q)}
}

// lineBufs are the line lists of one text while it is read: its lines
// and what stripTextInto keeps of them (of the text or the forwarded body,
// and of a forward's note).
type lineBufs struct {
	lines, text, note []string
}

var lineBufPool = sync.Pool{New: func() any { return new(lineBufs) }}

func getLineBufs() *lineBufs { return lineBufPool.Get().(*lineBufs) }

// release gives b back to lineBufPool; no list of it may be used after.
func (b *lineBufs) release() {
	if cap(b.lines) > 1<<14 {
		return // a huge text: let its buffers go
	}
	// The lines keep the text they are cut from alive: clear them.
	clear(b.lines[:cap(b.lines)])
	clear(b.text[:cap(b.text)])
	clear(b.note[:cap(b.note)])
	b.lines, b.text, b.note = b.lines[:0], b.text[:0], b.note[:0]
	lineBufPool.Put(b)
}

// body is StripSignature(StripQuoted(text)) as lines.
func (s strippedText) body() []string {
	if s.sig >= 0 {
		return trimBlankTail(s.lines[:s.sig])
	}
	return s.lines
}

// signatureStart returns the index of the first line that starts the
// signature (closing greeting, separator, disclaimer, footer), or -1.
func signatureStart(lines []string) int {
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if isSignOffTrimmed(t) || isSigSeparator(l) || isDisclaimerTrimmed(t) {
			return i
		}
	}
	return -1
}

// Closing greetings, matched on the folded, lower-cased line without its
// trailing punctuation, as whole words at its start. A sign-off is a short
// line: at most maxSignOffWords words, so that a sentence that happens to
// begin with "groeten" is kept. signOffs spells out every greeting of the
// regular expression that quote_test.go keeps (signOffRe) and checks
// isSignOff against.
var signOffs = func() map[string]bool {
	set := map[string]bool{}
	// alts expands "a|b" groups: each part lists alternatives.
	var alts func(prefix string, parts [][]string)
	alts = func(prefix string, parts [][]string) {
		if len(parts) == 0 {
			set[prefix] = true
			return
		}
		for _, a := range parts[0] {
			alts(prefix+a, parts[1:])
		}
	}
	adjectives := []string{"vriendelijke", "hartelijke", "collegiale", "beste", "warme", "zonnige", "hele", "lieve", "sportieve", "goede", "fijne"}
	alts("", [][]string{{"", "met "}, adjectives, {"", " "}, {"groet", "groeten", "groetjes"}})
	alts("met ", [][]string{{"groet", "groeten"}})
	alts("", [][]string{{"groet", "groeten", "groetjes", "gegroet", "mvg", "vr gr", "vrgr", "hoogachtend"}})
	alts("m", [][]string{{"", " "}, {"v"}, {"", " "}, {"g"}})
	alts("bij voorbaat ", [][]string{{"dank", "bedankt"}})
	alts("", [][]string{{"kind ", "best ", "warm ", "warmest ", "kindest ", "many thanks and kind ", ""}, {"regards"}})
	alts("", [][]string{{"yours sincerely", "sincerely", "best wishes", "all the best", "cheers"}})
	alts("mit freundlichen gr", [][]string{{"u", "ue"}, {"ss", "ß"}, {"en"}})
	alts("viele gr", [][]string{{"u", "ue"}, {"ss", "ß"}, {"e"}})
	return set
}()

var signOffMaxLen = func() int {
	n := 0
	for s := range signOffs {
		n = max(n, len(s))
	}
	return n
}()

// signOffFirstWords are the runs of ASCII word characters that signOffs
// start with.
var signOffFirstWords = func() map[string]bool {
	set := map[string]bool{}
	for s := range signOffs {
		n := 0
		for n < len(s) && isASCIIWordByte(s[n]) {
			n++
		}
		set[s[:n]] = true
	}
	return set
}()

// signOffFirstLens has per first byte of signOffFirstWords (lower case)
// the bit of each of their lengths.
var signOffFirstLens = func() (lens [utf8.RuneSelf]uint64) {
	for w := range signOffFirstWords {
		if len(w) >= 64 {
			panic("signOffFirstLens: first word too long")
		}
		if w != "" {
			lens[w[0]] |= 1 << len(w)
		}
	}
	return lens
}()

var signOffFirstWordMax = func() int {
	n := 0
	for w := range signOffFirstWords {
		n = max(n, len(w))
	}
	return n
}()

const maxSignOffWords = 6

func isSignOff(line string) bool {
	return isSignOffTrimmed(strings.TrimSpace(line))
}

// isSignOffTrimmed is isSignOff of a line without surrounding white space.
func isSignOffTrimmed(t string) bool {
	if t == "" || len(t) > 80 {
		return false
	}
	// A line that starts with ASCII word characters up to an ASCII byte
	// starts its normalised form with them in lower case: a cheap look at
	// its first word first.
	if k := asciiWordPrefix(t); k > 0 && (k == len(t) || t[k] < utf8.RuneSelf) {
		if k > signOffFirstWordMax {
			return false // longer than any first word
		}
		c := t[0]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if signOffFirstLens[c]&(1<<k) == 0 {
			return false // no first word of that letter and length
		}
		var wb [32]byte
		if k <= len(wb) {
			w := wb[:k]
			for i := range w {
				c := t[i]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				w[i] = c
			}
			if !signOffFirstWords[string(w)] {
				return false
			}
		}
	}
	var fb, nb [128]byte
	f := appendFold(fb[:0], t)
	for len(f) > 0 && strings.IndexByte(" ,.!:;-", f[len(f)-1]) >= 0 {
		f = f[:len(f)-1]
	}
	// The words of f, split at white space and , . !, joined by one space.
	n := nb[:0]
	words, in := 0, false
	for i := 0; i < len(f); {
		r, size := rune(f[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(f[i:])
		}
		if r == ',' || r == '.' || r == '!' || unicode.IsSpace(r) {
			in = false
			i += size
			continue
		}
		if !in {
			if words++; words > maxSignOffWords {
				return false
			}
			if words > 1 {
				n = append(n, ' ')
			}
			in = true
		}
		n = append(n, f[i:i+size]...)
		i += size
	}
	// A greeting of signOffs followed by a word boundary.
	for j := 1; j <= len(n) && j <= signOffMaxLen; j++ {
		if (j == len(n) || !isASCIIWordByte(n[j])) && isASCIIWordByte(n[j-1]) && signOffs[string(n[:j])] {
			return true
		}
	}
	return false
}

// asciiWordPrefix returns how many ASCII word characters (as regexp's \b
// counts them) s starts with.
func asciiWordPrefix(s string) int {
	n := 0
	for n < len(s) && isASCIIWordByte(s[n]) {
		n++
	}
	return n
}

// isASCIIWordByte reports whether b is a word character of regexp's \b.
func isASCIIWordByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_'
}

func isSigSeparator(line string) bool {
	return line == "-- " || line == "--"
}

// Phrases that open a legal disclaimer or a client's footer.
var disclaimerPhrases = []string{
	"dit bericht is uitsluitend bestemd voor",
	"dit e-mailbericht is uitsluitend bestemd voor",
	"dit e-mailbericht is alleen bestemd voor",
	"de informatie verzonden met dit e-mailbericht",
	"de informatie in dit e-mailbericht",
	"this e-mail and any attachments",
	"this email and any attachments",
	"this message and any attachments",
	"the information contained in this",
	"disclaimer:",
	"verstuurd vanaf mijn",
	"verzonden vanaf mijn",
	"verzonden vanuit mijn",
	"verstuurd vanuit mijn",
	"sent from my",
	"get outlook for",
	"download outlook voor",
	"outlook voor ios",
	"outlook voor android",
}

func isDisclaimer(line string) bool {
	return isDisclaimerTrimmed(strings.TrimSpace(line))
}

// isDisclaimerTrimmed is isDisclaimer of a line without surrounding white
// space.
func isDisclaimerTrimmed(t string) bool {
	if t == "" {
		return false
	}
	if c := t[0]; c < utf8.RuneSelf {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if len(disclaimerBy[c]) == 0 {
			return false // no phrase starts with the line's first letter
		}
	}
	var buf [64]byte
	f := appendFoldPrefix(buf[:0], t, disclaimerMaxLen)
	if len(f) == 0 {
		return false
	}
	for _, p := range disclaimerBy[f[0]] {
		if len(f) >= len(p) && string(f[:len(p)]) == p {
			return true
		}
	}
	return false
}

// disclaimerBy lists disclaimerPhrases by their first byte.
var disclaimerBy = func() (by [256][]string) {
	for _, p := range disclaimerPhrases {
		by[p[0]] = append(by[p[0]], p)
	}
	return by
}()

// Separator lines that open a quoted original in Outlook and webmail.
var originalMessageRe = regexp.MustCompile(`(?i)^-{2,}\s*(?:oorspronkelijk bericht|original message|origineel bericht|urspr(?:ü|ue)ngliche nachricht|message d'origine|reply message)\s*-{2,}$`)

func isOriginalMessageLine(t string) bool {
	return strings.HasPrefix(t, "--") && originalMessageRe.MatchString(t)
}

// Markers that open a forwarded message in Gmail, Apple Mail, Thunderbird
// and Outlook on the web.
var forwardMarkerRe = regexp.MustCompile(`(?i)^(?:-{2,}\s*(?:forwarded message|doorgestuurd bericht|doorgestuurde e-?mail|weitergeleitete nachricht|message transf[ée]r[ée])\s*-{2,}|begin (?:doorgestuurd bericht|forwarded message|van doorgestuurd bericht)\s*:?)$`)

func isForwardMarker(t string) bool {
	// The pattern needs "--" or "begin " first: a cheap look first.
	if !strings.HasPrefix(t, "--") && !(len(t) >= 6 && t[0]|0x20 == 'b' && t[1]|0x20 == 'e' &&
		t[2]|0x20 == 'g' && t[3]|0x20 == 'i' && t[4]|0x20 == 'n' && t[5] == ' ') {
		return false
	}
	return forwardMarkerRe.MatchString(t)
}

// mayStartForwardMarker reports whether isForwardMarker can hold for the
// line l trimmed: its first byte after ASCII white space is '-', 'b' or
// 'B', or not ASCII (which may be white space).
func mayStartForwardMarker(l string) bool {
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case c >= utf8.RuneSelf:
			return true
		case !asciiSpace[c]:
			return c == '-' || c|0x20 == 'b'
		}
	}
	return false
}

// isRuleLine reports whether t is a horizontal rule such as Outlook's
// "________________________________" above a quoted header block.
func isRuleLine(t string) bool {
	if len(t) < 8 {
		return false
	}
	for _, r := range t {
		if r != '_' && r != '-' && r != '=' {
			return false
		}
	}
	return true
}

// Header field names of quoted and forwarded header blocks, in the
// languages of the clients we see, in lower case: the sender, the subject
// and any field (the subject too).
var (
	headerFromNames  = []string{"van", "from", "de", "von", "afzender"}
	headerSubjNames  = []string{"onderwerp", "subject", "objet", "betreff"}
	headerOtherNames = []string{"verzonden", "sent", "datum", "date", "aan", "to", "cc", "bcc", "onderwerp", "subject",
		"envoyé", "envoye", "à", "a", "objet", "gesendet", "an", "betreff", "reply-to", "beantwoorden"}
)

// quotedField reads t as a header field line of a quoted header block,
// as the regular expression
//
//	(?i)^[*>\s]*(NAME)\s*:\**\s*(.*)$
//
// matches it (headerFromRe, headerSubjRe and headerOtherRe in
// quote_test.go): after '*', '>' and white
// space a field name (letters, '-' and non-ASCII bytes), white space, a
// colon, '*'s, white space and the value. Each part can match in one way
// only. The name is as written; isFieldName compares it.
func quotedField(t string) (name, value string, ok bool) {
	i := 0
	for i < len(t) && (t[i] == '*' || t[i] == '>' || isRESpace(t[i])) {
		i++
	}
	start := i
	for i < len(t) && (t[i]|0x20 >= 'a' && t[i]|0x20 <= 'z' || t[i] == '-' || t[i] >= utf8.RuneSelf) {
		i++
	}
	name = t[start:i]
	for i < len(t) && isRESpace(t[i]) {
		i++
	}
	if name == "" || i == len(t) || t[i] != ':' {
		return "", "", false
	}
	for i++; i < len(t) && t[i] == '*'; i++ {
	}
	for i < len(t) && isRESpace(t[i]) {
		i++
	}
	if strings.IndexByte(t[i:], '\n') >= 0 {
		return "", "", false // . does not match a line break
	}
	return name, t[i:], true
}

// isFieldName reports whether name is one of names in any case, as (?i)
// of regexp folds them.
func isFieldName(name string, names []string) bool {
	for _, n := range names {
		if strings.EqualFold(name, n) {
			return true
		}
	}
	return false
}

// isHeaderBlockAt reports whether a quoted header block starts at line i: a
// "Van:/From:" line followed within the next lines by at least two other
// header fields.
func isHeaderBlockAt(lines []string, i int) bool {
	// A field needs a colon: most lines are ruled out without it.
	if i < 0 || i >= len(lines) || strings.IndexByte(lines[i], ':') < 0 {
		return false
	}
	if name, _, ok := quotedField(strings.TrimSpace(lines[i])); !ok || !isFieldName(name, headerFromNames) {
		return false
	}
	n := 0
	for j := i + 1; j < len(lines) && j <= i+7; j++ {
		t := strings.TrimSpace(lines[j])
		if t == "" {
			if n > 0 {
				break
			}
			continue
		}
		if name, _, ok := quotedField(t); ok && isFieldName(name, headerOtherNames) {
			n++
			if n >= 2 {
				return true
			}
			continue
		}
		// A wrapped header value (e.g. a long recipient list) is allowed
		// only after at least one header field.
		if n == 0 {
			return false
		}
	}
	return false
}

// Attribution lines: "Op <date> schreef <name> <addr>:", "Op <date>, om
// <time> heeft <name> het volgende geschreven:", "On <date>, <name> wrote:",
// "Am <date> schrieb <name>:", "Le <date>, <name> a écrit :".
var (
	attribEndRe = regexp.MustCompile(`(?i)(?:schreef|geschreven|wrote|schrieb|a [ée]crit)\s*(?:[^:]{0,200})?:\s*$`)
	// A client's attribution names a time, a year or an address; a
	// sentence such as "Op 12 maart schreef ik u het volgende:" does not.
	attribDetailRe = regexp.MustCompile(`\d{1,2}[:.]\d{2}|@|\b(?:19|20)\d{2}\b`)
)

// attributionAt returns how many lines (1 to 3) the attribution starting at
// line i (t, trimmed) spans, or 0 when no attribution starts there.
func attributionAt(lines []string, i int, t string) int {
	if !isAttribStart(t) {
		return 0
	}
	joined := t
	for n := 1; n <= 3 && i+n <= len(lines); n++ {
		if n > 1 {
			next := strings.TrimSpace(lines[i+n-1])
			if next == "" {
				return 0
			}
			joined += " " + next
		}
		if len(joined) > 400 {
			return 0
		}
		// attribEndRe needs a colon at the end: a cheap look first.
		if strings.HasSuffix(strings.TrimRight(joined, " \t\n\f\r"), ":") &&
			attribEndRe.MatchString(joined) && hasAttribVerb(joined) && attribDetailRe.MatchString(joined) {
			return n
		}
	}
	return 0
}

// isAttribStart reports whether the regular expression
// (?i)^(?:op|on|am|le)\s+\S matches t (attribStartRe in quote_test.go): "op", "on",
// "am" or "le" in any case, white space and something else.
func isAttribStart(t string) bool {
	if len(t) < 4 {
		return false
	}
	a, b := t[0]|0x20, t[1]|0x20
	if !(a == 'o' && (b == 'p' || b == 'n') || a == 'a' && b == 'm' || a == 'l' && b == 'e') {
		return false
	}
	i := 2
	for i < len(t) && isRESpace(t[i]) {
		i++
	}
	return i > 2 && i < len(t)
}

func hasAttribVerb(s string) bool {
	f := strings.ToLower(s)
	for _, v := range []string{"schreef", "geschreven", "wrote", "schrieb", "a écrit", "a ecrit"} {
		if strings.Contains(f, v) {
			return true
		}
	}
	return false
}

// forwardPart is a mail split at its (outermost) forward: the forwarder's
// note above, the forwarded header fields and the forwarded body.
type forwardPart struct {
	Note    string // what the forwarder wrote, quotes not yet stripped
	Body    string // the forwarded message's body
	From    Address
	Subject string
}

// splitForward finds a forwarded message in text. An explicit forward marker
// ("---------- Forwarded message ---------", "Begin doorgestuurd bericht:")
// always counts; an Outlook header block or an "-----Oorspronkelijk
// bericht-----" line counts only when subjectForward is true (the subject
// starts with FW:/Fwd:), because in a reply the same block quotes the mail
// replied to.
func splitForward(text string, subjectForward bool) (forwardPart, bool) {
	fp, note, body, ok := splitForwardLines(splitLines(text), subjectForward)
	if ok {
		fp.Note, fp.Body = strings.Join(note, "\n"), strings.Join(body, "\n")
	}
	return fp, ok
}

// splitForwardLines is splitForward on the lines of a text, without
// fp.Note and fp.Body: it returns their lines, without trailing blank
// lines, instead.
func splitForwardLines(lines []string, subjectForward bool) (fp forwardPart, note, body []string, ok bool) {
	for i := 0; i < len(lines); i++ {
		if !subjectForward && !mayStartForwardMarker(lines[i]) {
			continue // only a marker counts: a cheap look first
		}
		t := strings.TrimSpace(lines[i])
		start := -1
		switch {
		case isForwardMarker(t):
			start = i + 1
		case subjectForward && isOriginalMessageLine(t):
			start = i + 1
		case subjectForward && isRuleLine(t) && isHeaderBlockAt(lines, nextNonBlank(lines, i+1)):
			start = nextNonBlank(lines, i+1)
		case subjectForward && isHeaderBlockAt(lines, i):
			start = i
		}
		if start < 0 {
			continue
		}
		note = trimBlankTail(lines[:i])
		var fp forwardPart
		j := nextNonBlank(lines, start)
		// Read the header block: field lines until the first blank line
		// after at least one field.
		fields := 0
		for ; j < len(lines); j++ {
			h := strings.TrimSpace(lines[j])
			if h == "" {
				if fields > 0 {
					break
				}
				continue
			}
			if name, value, ok := quotedField(h); ok {
				switch {
				case isFieldName(name, headerFromNames):
					fp.From = parseLooseAddress(value)
					fields++
					continue
				case isFieldName(name, headerSubjNames):
					fp.Subject = strings.TrimSpace(value)
					fields++
					continue
				case isFieldName(name, headerOtherNames):
					fields++
					continue
				}
			}
			if fields == 0 {
				break // no header block after the marker
			}
			// A wrapped header value.
		}
		body = trimBlankTail(lines[min(nextNonBlank(lines, j), len(lines)):])
		return fp, note, body, true
	}
	return forwardPart{}, nil, nil, false
}

// parseLooseAddress reads "Name <addr>", "addr" or "Name [mailto:addr]" as
// written in a quoted header block.
func parseLooseAddress(s string) Address {
	s = strings.TrimSpace(strings.Trim(s, "*"))
	s = strings.ReplaceAll(s, "[mailto:", "<")
	s = strings.ReplaceAll(s, "]", ">")
	if a, err := mail.ParseAddress(s); err == nil {
		return Address{Name: strings.Trim(strings.TrimSpace(a.Name), "*"), Address: strings.ToLower(a.Address)}
	}
	if i := strings.LastIndex(s, "<"); i >= 0 {
		if j := strings.Index(s[i:], ">"); j > 0 {
			addr := strings.TrimSpace(s[i+1 : i+j])
			name := strings.Trim(strings.TrimSpace(s[:i]), `"'* `)
			if strings.Contains(addr, "@") {
				return Address{Name: name, Address: strings.ToLower(addr)}
			}
			return Address{Name: name}
		}
	}
	if strings.Contains(s, "@") && !strings.ContainsAny(s, " \t") {
		return Address{Address: strings.ToLower(s)}
	}
	return Address{Name: strings.Trim(s, `"'`)}
}

// splitLines normalises line endings and splits text into lines.
func splitLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return strings.Split(text, "\n")
}

// splitLinesInto is splitLines appending the lines to dst[:0].
func splitLinesInto(dst []string, text string) []string {
	if strings.IndexByte(text, '\r') >= 0 {
		text = strings.ReplaceAll(text, "\r\n", "\n")
		text = strings.ReplaceAll(text, "\r", "\n")
	}
	dst = dst[:0]
	for {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			return append(dst, text)
		}
		dst = append(dst, text[:i])
		text = text[i+1:]
	}
}

// joinTrimmed joins lines with "\n" after dropping trailing blank lines.
func joinTrimmed(lines []string) string {
	return strings.Join(trimBlankTail(lines), "\n")
}

// trimBlankTail returns lines without its trailing blank lines.
func trimBlankTail(lines []string) []string {
	end := len(lines)
	for end > 0 && strings.TrimSpace(lines[end-1]) == "" {
		end--
	}
	return lines[:end]
}

func nextNonBlank(lines []string, i int) int {
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	return i
}
