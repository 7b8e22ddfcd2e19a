package intake

// Parsing: raw RFC 5322 bytes in, a *Message out, never an error.
//
// go-message (github.com/emersion/go-message) provides the msg-id parsing
// of its mail package and the charset tables of its charset package; dates
// go through net/mail's ParseDate and addresses through its AddressParser
// as in go-message's mail.ParseAddressList, with a word decoder that does
// not give up on unknown charsets. The structure of the message is walked here,
// over the raw bytes, because real mail breaks the rules that a streaming
// reader has to rely on (TESTING.md: plain go-message stops on 61 of the
// 159 real-world corpus files): mbox envelope lines, junk before the
// header, missing blank lines and boundaries, unknown charsets and transfer
// encodings. Each such defect is repaired the way mature mail software
// repairs it and recorded in Message.Problems.
//
// Memory: the raw message is read in place. Part bodies are slices of it,
// attachments are only counted (base64 without decoding it), and only the
// header fields Parse looks at, body text (at most maxTextBytes) and small
// encoded attached messages are copied. Body text is decoded into a reused
// scratch buffer (bodyBufs), its line endings folded there, and copied once
// into a string of its size; the parser's state and its headers' field
// lists are reused too (parseStates).
//
// Speed: the common shapes (plain ASCII addresses, msg-ids and
// Content-Type values, RFC 5322 dates, quoted-printable and UTF-8 or Latin-1
// text) take the fast paths of parse_fast.go, which give exactly what the
// generic code gives or decline; parse(raw, false) runs the generic code
// alone, and the tests and FuzzParse compare the two.
//
// The same walker serves Parse and ExtractAttachment (attachment.go), so an
// attachment's Index always names the same part.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"mime"
	netmail "net/mail"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"golang.org/x/text/encoding/charmap"
)

// Limits against hostile input.
const (
	maxParts        = 100      // MIME entities walked per message
	maxDepth        = 20       // multipart and message/rfc822 nesting
	maxFieldBytes   = 64 << 10 // one header field value
	maxTextBytes    = 8 << 20  // decoded text/plain or text/html kept
	maxUnparsedText = 64 << 10 // Text of a message whose header is unreadable
	maxForwardBytes = 8 << 20  // an encoded message/rfc822 part decoded to be walked
	maxProblems     = 40
	maxAddresses    = 1000 // per address field; more are dropped
)

// unreadableSubject is the Subject of a message whose header cannot be read.
const unreadableSubject = "(onleesbaar bericht)"

// envelopeHeaderKeys are the top-level header fields copied into
// Message.Header for classification.
var envelopeHeaderKeys = []string{
	"Auto-Submitted", "Precedence", "X-Autoreply", "X-Autorespond",
	"X-Auto-Response-Suppress", "List-Id", "List-Unsubscribe", "Return-Path",
	"Content-Type", "X-Failed-Recipients", "Thread-Topic", "Thread-Index",
	"X-Mailer", "X-MS-Exchange-Message-Is-Ndr", "X-Autoresponder", "User-Agent", "Delivered-To", "Sender",
}

// Parse decodes a raw message. It never fails and never returns nil: what
// cannot be decoded cleanly is repaired where possible and listed in
// Problems; a message whose header cannot be read at all comes back with
// Unparsed set and the raw bytes as its Text.
func Parse(raw []byte) *Message {
	return parse(raw, true)
}

// parse is Parse with the fast paths (fast) or only the generic code, which
// the fast paths must agree with (TestParseFastMatchesGeneric, FuzzParse).
func parse(raw []byte, fast bool) (m *Message) {
	st := parseStates.Get().(*parseState)
	defer func() {
		if r := recover(); r != nil {
			m = unparsedMessage(raw, fmt.Sprintf("internal parser error: %v", r))
		}
		*st = parseState{fields: st.fields.reset(), w: mimeWalker{altGroups: st.w.altGroups[:0]}}
		parseStates.Put(st)
	}()

	prob := &st.prob
	top, ok := readTopHeaderIn(raw, prob, &st.fields)
	if !ok {
		return unparsedMessage(raw, "no readable header")
	}
	m = &Message{Size: int64(len(raw))}
	st.hints.raw = raw
	decodeEnvelope(m, top.header, &st.hints, prob, fast)

	w := &st.w
	*w = mimeWalker{
		prob:      prob,
		msg:       m,
		hints:     &st.hints,
		topSink:   &st.sink,
		fields:    &st.fields,
		fast:      fast,
		altGroups: w.altGroups[:0],
	}
	w.walkEntity(top.header, top.body, 0, walkCtx{sink: w.topSink})

	m.Text, m.HTML = w.topSink.result()
	if strings.TrimSpace(m.Text) == "" && w.topSink.forwardText != "" {
		m.Text = w.topSink.forwardText
	}
	m.Text = cleanText(m.Text)
	m.HTML = cleanText(m.HTML)
	m.Problems = prob.list
	return m
}

// parseState is the state of one parse; nothing of the message points
// into it.
type parseState struct {
	prob   problemList
	hints  charsetHints
	sink   bodySink
	w      mimeWalker
	fields fieldArena
}

var parseStates = sync.Pool{New: func() any { return new(parseState) }}

// ParseHeader decodes the header of a message that exceeds the size cap and
// of which only the header was fetched. size is the full message size.
func ParseHeader(rawHeader []byte, size int64) (m *Message) {
	defer func() {
		if r := recover(); r != nil {
			m = unparsedMessage(rawHeader, fmt.Sprintf("internal parser error: %v", r))
			m.Size = size
		}
	}()

	prob := &problemList{}
	top, ok := readTopHeader(rawHeader, prob)
	if !ok {
		m = unparsedMessage(rawHeader, "no readable header")
		m.Size = size
		m.Problems = append(m.Problems, sizeCapProblem(size))
		return m
	}
	m = &Message{Size: size}
	decodeEnvelope(m, top.header, &charsetHints{raw: rawHeader}, prob, true)
	ct := parseContentType(top.header.Get("Content-Type"), true)
	m.ContentType = ct.mediaType
	if m.ContentType == "" {
		m.ContentType = "text/plain"
	}
	m.ReportType = strings.ToLower(ct.param("report-type"))
	prob.add(sizeCapProblem(size))
	m.Problems = prob.list
	return m
}

func sizeCapProblem(size int64) string {
	return fmt.Sprintf("message of %d bytes exceeds the size cap; only the header was stored", size)
}

// unparsedMessage is the message for bytes whose header cannot be read.
func unparsedMessage(raw []byte, problem string) *Message {
	text := raw
	if len(text) > maxUnparsedText {
		text = text[:maxUnparsedText]
	}
	m := &Message{
		Subject:     unreadableSubject,
		Text:        strings.ReplaceAll(strings.ToValidUTF8(string(text), "\uFFFD"), "\x00", ""),
		ContentType: "text/plain",
		Size:        int64(len(raw)),
		Unparsed:    true,
		Problems:    []string{problem},
	}
	m.MessageID = syntheticMessageID(raw)
	m.Problems = append(m.Problems, "no Message-ID; synthesised from the content hash")
	return m
}

// syntheticMessageID derives a stable Message-ID from the raw bytes.
func syntheticMessageID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "sha256-" + hex.EncodeToString(sum[:])[:32] + "@loket.invalid"
}

// problemList collects problem notes, without duplicates and at most
// maxProblems of them.
type problemList struct {
	list []string
}

func (p *problemList) add(s string) {
	for _, have := range p.list {
		if have == s {
			return
		}
	}
	switch {
	case len(p.list) < maxProblems:
		p.list = append(p.list, s)
	case len(p.list) == maxProblems:
		p.list = append(p.list, "more problems not listed")
	}
}

func (p *problemList) addf(format string, args ...any) {
	p.add(fmt.Sprintf(format, args...))
}

// Header reading.

// headerBlock is a header read from raw bytes and the body that follows it.
type headerBlock struct {
	header partHeader
	body   []byte
}

// nextLine splits b at the first LF. The line is returned without its line
// ending (LF or CRLF).
func nextLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		line, rest = b, nil
	} else {
		line, rest = b[:i], b[i+1:]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// fieldKey returns the field name of a header line "Name: value" and the
// position of its colon, or -1 when the line does not have that form
// (RFC 5322: printable ASCII but the colon; white space before the colon is
// tolerated).
func fieldKey(line []byte) ([]byte, int) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return nil, -1
	}
	key := line[:i]
	for len(key) > 0 && (key[len(key)-1] == ' ' || key[len(key)-1] == '\t') {
		key = key[:len(key)-1]
	}
	if len(key) == 0 {
		return nil, -1
	}
	for _, c := range key {
		if c < 33 || c > 126 {
			return nil, -1
		}
	}
	return key, i
}

// readTopHeader reads the header of a whole message: it removes an mbox
// envelope line, skips junk before the first field and reports false when
// no header field can be found at all.
func readTopHeader(raw []byte, prob *problemList) (headerBlock, bool) {
	return readTopHeaderIn(raw, prob, nil)
}

// readTopHeaderIn is readTopHeader with the header's field list taken from
// arena (when not nil).
func readTopHeaderIn(raw []byte, prob *problemList, arena *fieldArena) (headerBlock, bool) {
	b := raw
	// Leading blank lines.
	skipped := false
	for len(b) > 0 {
		line, rest := nextLine(b)
		if len(bytes.TrimSpace(line)) != 0 {
			break
		}
		b, skipped = rest, true
	}
	if skipped {
		prob.add("blank lines before the header skipped")
	}
	if line, rest := nextLine(b); isMboxFromLine(line) {
		b = rest
		prob.add("mbox envelope line removed")
	}
	// A first line indented by mistake.
	if len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		line, _ := nextLine(b)
		if _, colon := fieldKey(bytes.TrimLeft(line, " \t")); colon > 0 {
			b = bytes.TrimLeft(b, " \t")
			prob.add("header starts with white space")
		}
	}
	if line, _ := nextLine(b); !isFieldLine(line) {
		// Junk before the header: look a little further for a field that
		// is followed by another one.
		start := -1
		rest := b
		for i := 0; i < 30 && len(rest) > 0; i++ {
			line, next := nextLine(rest)
			nl, _ := nextLine(next)
			if isFieldLine(line) && (isFieldLine(nl) || len(nl) > 0 && (nl[0] == ' ' || nl[0] == '\t')) {
				start = len(b) - len(rest)
				break
			}
			rest = next
		}
		if start < 0 {
			return headerBlock{}, false
		}
		b = b[start:]
		prob.add("junk before the header skipped")
	}
	hb := readHeader(b, prob, arena)
	if hb.header.Len() == 0 {
		return headerBlock{}, false
	}
	return hb, true
}

// isMboxFromLine reports whether line is an mbox envelope line
// ("From sender date"), not a "From :" header field.
func isMboxFromLine(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("From ")) {
		return false
	}
	return !bytes.HasPrefix(bytes.TrimLeft(line[len("From "):], " \t"), []byte(":"))
}

func isFieldLine(line []byte) bool {
	if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
		return false
	}
	_, colon := fieldKey(line)
	return colon > 0
}

// readHeader reads header fields up to the first empty line. A line that is
// not a field and not indented is joined to the previous field when more
// fields follow it (a folded line that lost its indent); otherwise it is
// taken as the start of a body that lacks its blank separator line.
//
// Only the fields that Parse looks at (usedHeaderKeys) are kept, their
// values substrings of one string; Len counts them all. The list of fields
// is taken from arena when it is not nil.
func readHeader(b []byte, prob *problemList, arena *fieldArena) headerBlock {
	// A field's value is made of pieces, trimmed lines (or the part of the
	// first line after the colon) joined with a space; the pieces of all
	// fields are listed in order in pieces.
	type span struct{ start, end int } // in b
	type field struct {
		keyStart, keyEnd int
		p0, np           int // its pieces are pieces[p0:p0+np]
		n                int // length of the joined value
		cut              bool
	}
	var fieldBuf [32]field
	var pieceBuf [64]span
	fields, pieces := fieldBuf[:0], pieceBuf[:0]
	appendValue := func(f *field, v []byte) {
		v = bytes.TrimSpace(v)
		if len(v) == 0 || f.cut {
			return
		}
		if f.n > 0 {
			f.n++ // the space between two pieces
		}
		if f.n+len(v) > maxFieldBytes {
			v = v[:maxFieldBytes-f.n]
			f.cut = true
			prob.addf("header field %s longer than %d bytes truncated", textproto.CanonicalMIMEHeaderKey(string(b[f.keyStart:f.keyEnd])), maxFieldBytes)
		}
		f.n += len(v)
		start := cap(b) - cap(v)
		pieces = append(pieces, span{start, start + len(v)})
		f.np++
	}

	body := []byte(nil)
	rest := b
	for len(rest) > 0 {
		line, next := nextLine(rest)
		if len(line) == 0 {
			body = next
			break
		}
		indented := line[0] == ' ' || line[0] == '\t'
		var key []byte
		colon := -1
		if !indented {
			key, colon = fieldKey(line) // a field line when colon > 0 (isFieldLine)
		}
		switch {
		case indented:
			if len(fields) > 0 {
				appendValue(&fields[len(fields)-1], line)
			}
		case colon > 0:
			f := field{keyStart: cap(b) - cap(key), p0: len(pieces)}
			f.keyEnd = f.keyStart + len(key)
			appendValue(&f, line[colon+1:])
			fields = append(fields, f)
		case len(fields) > 0 && !bytes.HasPrefix(line, []byte("--")) && fieldFollows(next):
			appendValue(&fields[len(fields)-1], line)
			prob.add("header line without indentation joined to the previous field")
		default:
			// The body starts here.
			if len(fields) > 0 {
				prob.add("no blank line between header and body")
			}
			body = rest
			rest = nil
			continue
		}
		rest = next
		if len(rest) == 0 {
			body = nil
		}
	}

	// Only the fields that Parse looks at are kept (usedHeaderKey), their
	// values joined into one string.
	var keyBuf [32]string
	keys := keyBuf[:0]
	end, cut, size, used := 0, false, 0, 0
	for _, f := range fields {
		end = max(end, f.keyEnd)
		if f.np > 0 {
			end = max(end, pieces[f.p0+f.np-1].end)
		}
		cut = cut || f.cut
		k := lookupUsedKey(b[f.keyStart:f.keyEnd])
		keys = append(keys, k)
		if k != "" {
			used++
			size += f.n
		}
	}
	h := partHeader{count: len(fields)}
	// Values cut from valid UTF-8 without ESC need no charset repair.
	h.clean = !cut && utf8.Valid(b[:end]) && bytes.IndexByte(b[:end], 0x1b) < 0
	if used == 0 {
		return headerBlock{header: h, body: body}
	}
	var sb strings.Builder
	sb.Grow(size)
	for i, f := range fields {
		if keys[i] == "" {
			continue
		}
		for k, p := range pieces[f.p0 : f.p0+f.np] {
			if k > 0 {
				sb.WriteByte(' ')
			}
			sb.Write(b[p.start:p.end])
		}
	}
	text := sb.String()
	h.fields = arena.take(used)
	off := 0
	for i, f := range fields {
		if keys[i] != "" {
			h.fields = append(h.fields, headerField{key: keys[i], value: text[off : off+f.n]})
			off += f.n
		}
	}
	return headerBlock{header: h, body: body}
}

// fieldArena hands out the field lists of the headers of one parse from
// one buffer that is kept between parses (parseStates): a list is only used
// while its message is parsed.
type fieldArena struct {
	buf []headerField
}

// take returns an empty list with room for n fields, from the arena or,
// when a is nil or full, newly allocated.
func (a *fieldArena) take(n int) []headerField {
	if a == nil {
		return make([]headerField, 0, n)
	}
	if a.buf == nil {
		a.buf = make([]headerField, 0, 64)
	}
	k := len(a.buf)
	if cap(a.buf)-k < n {
		return make([]headerField, 0, n)
	}
	a.buf = a.buf[:k+n]
	return a.buf[k : k : k+n]
}

// reset clears what the arena handed out, so that it holds no strings of
// the parsed message, and returns its buffer for the next parse.
func (a *fieldArena) reset() fieldArena {
	clear(a.buf)
	return fieldArena{buf: a.buf[:0]}
}

// usedKeysByLen lists the keys of usedHeaderKeys by their length.
var usedKeysByLen = func() (t [maxUsedKeyLen][]string) {
	for k := range usedHeaderKeys {
		t[len(k)] = append(t[len(k)], k)
	}
	for _, keys := range t {
		slices.Sort(keys)
	}
	return t
}()

// lookupUsedKey is usedHeaderKey without building the canonical form and
// hashing it: a name is the key of its length that it equals but for the
// case of ASCII letters. Every key is made of letters, digits and '-' and
// is canonical, so that is exactly the key whose canonical form it has.
func lookupUsedKey(name []byte) string {
	if len(name) >= maxUsedKeyLen {
		return ""
	}
	for _, k := range usedKeysByLen[len(name)] {
		if asciiEqualFoldKey(name, k) {
			return k
		}
	}
	return ""
}

// asciiEqualFoldKey reports whether name equals key (of the same length)
// but for the case of ASCII letters.
func asciiEqualFoldKey(name []byte, key string) bool {
	for i, c := range name {
		if k := key[i]; c != k && !(isASCIILetter(c) && c^0x20 == k) {
			return false
		}
	}
	return true
}

// fieldFollows reports whether a header field comes within the next few
// lines, before an empty line or a boundary line.
func fieldFollows(b []byte) bool {
	for i := 0; i < 20 && len(b) > 0; i++ {
		line, next := nextLine(b)
		if len(line) == 0 || bytes.HasPrefix(line, []byte("--")) {
			return false
		}
		if isFieldLine(line) {
			return true
		}
		b = next
	}
	return false
}

// Envelope fields.

// decodeEnvelope fills the header-derived fields of m.
func decodeEnvelope(m *Message, h partHeader, hints *charsetHints, prob *problemList, fast bool) {
	raw := hints.raw
	h = fix8bitHeader(h, hints)

	m.Subject = cleanHeaderText(decodeHeaderText(h.Get("Subject")))
	m.From = pickFrom(h, prob, fast)
	m.ReplyTo = parseAddresses(h.Get("Reply-To"), fast)
	m.To = parseAddresses(joinValues(h, "To"), fast)
	m.Cc = parseAddresses(joinValues(h, "Cc"), fast)

	switch v := h.Get("Date"); {
	case v == "":
		prob.add("no Date header")
	default:
		d, err := parseDate(v, fast)
		if err != nil {
			d, err = parseDateLenient(v)
		}
		if err != nil {
			prob.addf("unreadable Date %q", truncateRunes(cleanHeaderText(v), 60))
			d = time.Time{}
		}
		m.Date = d
	}

	m.MessageID = parseMessageID(h, fast)
	if m.MessageID == "" {
		m.MessageID = syntheticMessageID(raw)
		prob.add("no Message-ID; synthesised from the content hash")
	}
	m.InReplyTo = parseMessageIDList(h, "In-Reply-To", fast)
	m.References = parseMessageIDList(h, "References", fast)

	// The fields in message order, so that each key's values keep their
	// order; a key's first value shares one backing array with the others.
	type found struct {
		name  string
		value string
	}
	var buf [16]found
	list := buf[:0]
	for _, f := range h.fields {
		if k, ok := envelopeHeaderNames[f.key]; ok {
			list = append(list, found{k, f.value})
		}
	}
	if len(list) == 0 {
		return
	}
	m.Header = make(map[string][]string, len(list))
	values := make([]string, len(list))
	for i, f := range list {
		v := cleanHeaderText(decodeHeaderText(f.value))
		if have, ok := m.Header[f.name]; ok {
			m.Header[f.name] = append(have, v)
			continue
		}
		values[i] = v
		m.Header[f.name] = values[i : i+1 : i+1]
	}
}

// envelopeHeaderNames maps the canonical form of each envelopeHeaderKeys
// entry to its spelling in Message.Header.
var envelopeHeaderNames = func() map[string]string {
	m := make(map[string]string, len(envelopeHeaderKeys))
	for _, k := range envelopeHeaderKeys {
		m[textproto.CanonicalMIMEHeaderKey(k)] = k
	}
	return m
}()

// joinValues returns the values of every field k joined with ", ".
func joinValues(h partHeader, k string) string {
	n, one := 0, ""
	for _, f := range h.fields {
		if f.key == k {
			n, one = n+1, f.value
		}
	}
	if n <= 1 {
		return one
	}
	return strings.Join(h.Values(k), ", ")
}

// pickFrom returns the sender: the first From address that has an '@'
// (a broken first From field or an empty "<>" is passed over), else the
// Sender or Reply-To address, else whatever From holds ("MAILER-DAEMON").
func pickFrom(h partHeader, prob *problemList, fast bool) Address {
	var first Address
	haveFirst := false
	var buf [4]Address // only the chosen address is kept
	for _, f := range h.fields {
		if f.key != "From" {
			continue
		}
		for _, a := range parseAddressesTo(buf[:0], f.value, fast) {
			if strings.Contains(a.Address, "@") {
				return a
			}
			if !haveFirst && a.Address != "" {
				first, haveFirst = a, true
			}
		}
	}
	for _, k := range []string{"Sender", "Reply-To"} {
		for _, a := range parseAddressesTo(buf[:0], h.Get(k), fast) {
			if strings.Contains(a.Address, "@") {
				prob.addf("no usable From address; %s used", k)
				return a
			}
		}
	}
	if haveFirst {
		return first
	}
	prob.add("no From address")
	return Address{}
}

// charsetHints guesses the charset of raw 8-bit header bytes from the
// multi-byte charsets that the message names for its parts: a Chinese or
// Japanese mailer that sends raw GB2312 or Shift_JIS headers labels its
// body the same way (or, for iso-2022-jp, a close relative).
type charsetHints struct {
	raw  []byte
	done bool
	list []string
}

// hintCompanions are tried after a named charset: what mailers that name
// the first one often send raw in their headers.
var hintCompanions = map[string][]string{
	"iso-2022-jp": {"shift_jis", "euc-jp"},
	"shift_jis":   {"euc-jp"},
	"euc-jp":      {"shift_jis"},
	"gbk":         {"gb18030", "big5"},
	"gb18030":     {"big5"},
	"big5":        {"gbk"},
	"euc-kr":      {},
}

func (c *charsetHints) labels() []string {
	if c.done {
		return c.list
	}
	c.done = true
	b := c.raw
	if len(b) > 1<<20 {
		b = b[:1<<20]
	}
	seen := map[string]bool{}
	for len(c.list) < 8 {
		i := indexFold(b, "charset=")
		if i < 0 {
			break
		}
		b = b[i+len("charset="):]
		v := bytes.TrimLeft(b, `"' `)
		k := 0
		for k < len(v) && k < 40 && v[k] > ' ' && v[k] != '"' && v[k] != '\'' && v[k] != ';' && v[k] != '>' {
			k++
		}
		label := normaliseCharset(string(v[:k]))
		companions, multi := hintCompanions[label]
		if !multi {
			continue
		}
		for _, l := range append([]string{label}, companions...) {
			if !seen[l] {
				seen[l] = true
				c.list = append(c.list, l)
			}
		}
	}
	return c.list
}

// decode converts a header value with raw 8-bit bytes to UTF-8: with the
// first hinted charset that decodes it cleanly, else as windows-1252.
func (c *charsetHints) decode(v string) string {
	if utf8.ValidString(v) {
		if strings.Contains(v, "\x1b$B") || strings.Contains(v, "\x1b$@") {
			if s, ok := decodeStrict("iso-2022-jp", []byte(v)); ok {
				return s
			}
		}
		return v
	}
	for _, l := range c.labels() {
		if s, ok := decodeStrict(l, []byte(v)); ok {
			return s
		}
	}
	return windows1252ToUTF8([]byte(v))
}

// decodeStrict decodes b from charset label and reports whether that went
// without a single replacement character.
func decodeStrict(label string, b []byte) (string, bool) {
	r, err := charset.Reader(label, bytes.NewReader(b))
	if err != nil {
		return "", false
	}
	out, err := io.ReadAll(r)
	if err != nil || !utf8.Valid(out) || bytes.Contains(out, replacementChar) {
		return "", false
	}
	return string(out), true
}

// indexFold is bytes.Index for an ASCII lower-case needle, ignoring case.
func indexFold(b []byte, needle string) int {
	first := needle[0]
	for i := 0; i+len(needle) <= len(b); i++ {
		c := b[i]
		if c|0x20 != first {
			continue
		}
		if bytes.EqualFold(b[i:i+len(needle)], []byte(needle)) {
			return i
		}
	}
	return -1
}

// fix8bitHeader returns h with every field value that holds raw 8-bit
// bytes (or raw ISO-2022-JP) converted to UTF-8 using the hints.
func fix8bitHeader(h partHeader, hints *charsetHints) partHeader {
	if h.clean {
		return h
	}
	needs := false
	for _, f := range h.fields {
		if !utf8.ValidString(f.value) || strings.IndexByte(f.value, 0x1b) >= 0 {
			needs = true
			break
		}
	}
	if !needs {
		return h
	}
	out := partHeader{fields: make([]headerField, len(h.fields)), count: h.count}
	for i, f := range h.fields {
		out.fields[i] = headerField{key: f.key, value: hints.decode(f.value)}
	}
	return out
}

// lenientWordDecoder decodes RFC 2047 encoded words; an unknown charset
// falls back to UTF-8 or windows-1252 instead of failing the header.
var lenientWordDecoder = &mime.WordDecoder{CharsetReader: lenientCharsetReader}

func lenientCharsetReader(label string, input io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(io.LimitReader(input, maxFieldBytes))
	if err != nil {
		return nil, err
	}
	s, _ := decodeCharset(label, b)
	return strings.NewReader(s), nil
}

// decodeHeaderText decodes RFC 2047 encoded words in a header value. Raw
// 8-bit bytes that are not UTF-8 are taken as windows-1252.
func decodeHeaderText(v string) string {
	if !utf8.ValidString(v) {
		v = windows1252ToUTF8([]byte(v))
	}
	if !strings.Contains(v, "=?") {
		return v
	}
	// mime.WordDecoder rescans the rest of the field after each malformed
	// word; long fields go to the bounded decoder only.
	d := v
	if len(v) <= 8<<10 {
		var err error
		if d, err = lenientWordDecoder.DecodeHeader(v); err != nil {
			d = v
		}
	}
	if strings.Contains(d, "=?") && strings.Contains(d, "?=") {
		// Words that mime.WordDecoder left alone: bad padding, spaces,
		// unknown encodings.
		d = decodeWordsLenient(d)
	}
	return d
}

// decodeWordsLenient decodes the RFC 2047 encoded words in s that are
// malformed in ways senders get wrong: extra or missing base64 padding,
// characters outside the alphabet, a language suffix on the charset. White
// space between two encoded words is dropped, as RFC 2047 says.
func decodeWordsLenient(s string) string {
	var b strings.Builder
	lastWasWord := false
	for {
		i := strings.Index(s, "=?")
		if i < 0 {
			b.WriteString(s)
			break
		}
		word, rest, text, ok := splitEncodedWord(s[i:])
		if !ok {
			b.WriteString(s[:i+2])
			s = s[i+2:]
			lastWasWord = false
			continue
		}
		if between := s[:i]; !(lastWasWord && strings.Trim(between, " \t") == "") {
			b.WriteString(between)
		}
		b.WriteString(text)
		_ = word
		s = rest
		lastWasWord = true
	}
	return b.String()
}

// splitEncodedWord decodes the encoded word at the start of s.
func splitEncodedWord(s string) (word, rest, text string, ok bool) {
	// =?charset?enc?data?= ; the scan is bounded so that a field full of
	// "=?" stays linear.
	q := strings.IndexByte(s[2:min(len(s), 2+41)], '?')
	if q <= 0 || len(s) < 2+q+3 || s[2+q+2] != '?' {
		return "", "", "", false
	}
	label, enc := s[2:2+q], s[2+q+1:2+q+2]
	dataStart := 2 + q + 3
	end := strings.Index(s[dataStart:min(len(s), dataStart+1024)], "?=")
	if end < 0 {
		return "", "", "", false
	}
	data := s[dataStart : dataStart+end]
	if j := strings.IndexByte(label, '*'); j >= 0 {
		label = label[:j] // RFC 2231 language
	}
	var raw []byte
	switch enc {
	case "B", "b":
		raw, _ = io.ReadAll(&base64Reader{src: []byte(data)})
	case "Q", "q":
		for k := 0; k < len(data); k++ {
			switch c := data[k]; {
			case c == '_':
				raw = append(raw, ' ')
			case c == '=' && k+2 < len(data) && isHex(data[k+1]) && isHex(data[k+2]):
				raw = append(raw, unhex(data[k+1])<<4|unhex(data[k+2]))
				k += 2
			default:
				raw = append(raw, c)
			}
		}
	default:
		return "", "", "", false
	}
	text, _ = decodeCharset(label, raw)
	wordLen := dataStart + end + 2
	return s[:wordLen], s[wordLen:], text, true
}

// cleanHeaderText makes a decoded header value safe to show on one line:
// valid UTF-8, no NUL or line breaks, no surrounding space.
func cleanHeaderText(s string) string {
	if isCleanHeaderText(s) {
		return strings.TrimSpace(s)
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == 0:
			return -1
		case r == '\r' || r == '\n' || r == '\t':
			return ' '
		case r >= 0x80 && r <= 0x9f:
			// C1 controls come from ISO-8859-1 words that were meant as
			// windows-1252 (euro sign, curly quotes).
			return charmap.Windows1252.DecodeByte(byte(r))
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// cleanText makes a body text valid UTF-8 without NUL bytes.
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// addressParser parses address lists with net/mail, the way go-message's
// mail.ParseAddressList does, but with the lenient word decoder.
var addressParser = &netmail.AddressParser{WordDecoder: lenientWordDecoder}

// parseAddressList parses an address header. When the list is not valid
// RFC 5322 each element is parsed on its own, and what still fails is taken
// apart by hand: "Name <addr>", "addr (Name)" or a bare address.
func parseAddressList(v string) []Address {
	return parseAddresses(v, true)
}

// parseAddresses is parseAddressList with or without its fast path.
func parseAddresses(v string, fast bool) []Address {
	return parseAddressesTo(nil, v, fast)
}

// parseAddressesTo is parseAddresses, whose fast path puts the list in
// dst's memory where it has room.
func parseAddressesTo(dst []Address, v string, fast bool) []Address {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if !utf8.ValidString(v) {
		v = windows1252ToUTF8([]byte(v))
	}
	if len(v) > maxFieldBytes {
		v = v[:maxFieldBytes]
	}
	if fast {
		if out, ok := fastAddressListTo(dst, v); ok {
			return out
		}
	}
	if list, err := addressParser.ParseList(v); err == nil {
		out := make([]Address, 0, len(list))
		for _, a := range list[:min(len(list), maxAddresses)] {
			out = append(out, makeAddress(a.Name, a.Address))
		}
		return out
	}
	var out []Address
	for _, seg := range splitAddressList(v) {
		if len(out) >= maxAddresses {
			break
		}
		if strings.Count(seg, "<") > 1 {
			// "A <a@x> B <b@x>" without the comma.
			for _, piece := range strings.SplitAfter(seg, ">") {
				if a, ok := lenientAddress(piece); ok && a.Address != "" {
					out = append(out, a)
				}
			}
			continue
		}
		if a, err := addressParser.Parse(seg); err == nil {
			out = append(out, makeAddress(a.Name, a.Address))
			continue
		}
		if a, ok := lenientAddress(seg); ok {
			out = append(out, a)
		}
	}
	return out
}

func makeAddress(name, addr string) Address {
	if strings.Contains(name, "=?") {
		name = decodeHeaderText(name)
	}
	return Address{
		Name:    cleanHeaderText(name),
		Address: strings.ToLower(cleanHeaderText(addr)),
	}
}

// splitAddressList splits an address list at commas (and semicolons) that
// are outside quotes, angle brackets and comments. A piece without '@' or
// '<' is the first half of an unquoted "Last, First <addr>" name and is
// joined to the next piece.
func splitAddressList(v string) []string {
	var parts []string
	depthAngle, depthParen, quoted, start := 0, 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			depthAngle++
		case c == '>' && depthAngle > 0:
			depthAngle--
		case c == '(':
			depthParen++
		case c == ')' && depthParen > 0:
			depthParen--
		case (c == ',' || c == ';') && depthAngle == 0 && depthParen == 0:
			parts = append(parts, v[start:i])
			start = i + 1
		}
	}
	parts = append(parts, v[start:])

	var out []string
	pending := ""
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		name := !strings.ContainsAny(p, "@<")
		switch {
		case pending != "" && !name:
			p = pending + ", " + p
		case pending != "":
			out = append(out, pending)
		}
		pending = ""
		if name {
			pending = p
			continue
		}
		out = append(out, p)
	}
	if pending != "" {
		out = append(out, pending)
	}
	return out
}

// lenientAddress takes a malformed address apart by hand.
func lenientAddress(s string) (Address, bool) {
	s = strings.TrimSpace(s)
	var name, addr string
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		addr = s[i+1:]
		if j := strings.IndexByte(addr, '>'); j >= 0 {
			addr = addr[:j]
		}
		name = s[:i]
	} else if i := strings.IndexByte(s, '('); i > 0 {
		addr = s[:i]
		name = strings.TrimSuffix(s[i+1:], ")")
	} else if f := strings.Fields(s); len(f) > 1 && strings.Count(s, "@") == 1 && !strings.Contains(s, `"`) {
		// "Name addr@host" without angle brackets.
		for i, w := range f {
			if strings.Contains(w, "@") {
				addr = w
				name = strings.Join(append(f[:i:i], f[i+1:]...), " ")
			}
		}
	} else {
		addr = s
	}
	addr = strings.TrimSpace(addr)
	name = strings.TrimSpace(name)
	if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
		name = strings.ReplaceAll(name[1:len(name)-1], `\"`, `"`)
	}
	if len(addr) >= 2 && addr[0] == '"' && addr[len(addr)-1] == '"' {
		// A quoted string that holds just an address.
		addr = addr[1 : len(addr)-1]
	}
	if addr == "" && name == "" {
		return Address{}, false
	}
	return makeAddress(decodeHeaderText(name), addr), true
}

// parseMessageID returns the Message-ID without angle brackets, leniently
// when the field is not RFC 5322.
func parseMessageID(h partHeader, fast bool) string {
	v := h.Get("Message-Id")
	if v == "" {
		return ""
	}
	if fast {
		if id, ok := fastMsgID(v); ok {
			return id
		}
	}
	if id, err := goMessageHeader("Message-Id", v).MessageID(); err == nil && id != "" {
		return cleanHeaderText(id)
	}
	ids := lenientMessageIDs(v)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// parseMessageIDList returns the msg-ids of In-Reply-To or References.
func parseMessageIDList(h partHeader, key string, fast bool) []string {
	v := h.Get(key)
	if v == "" {
		return nil
	}
	if fast {
		if ids, ok := fastMsgIDs(v, false); ok {
			return ids
		}
	}
	if ids, err := goMessageHeader(key, v).MsgIDList(key); err == nil && len(ids) > 0 {
		out := make([]string, 0, len(ids))
		for _, id := range ids {
			if id = cleanHeaderText(id); id != "" {
				out = append(out, id)
			}
		}
		return out
	}
	return lenientMessageIDs(strings.Join(h.Values(key), " "))
}

// goMessageHeader is a go-message header with one field, for its msg-id
// parsers.
func goMessageHeader(key, value string) *mail.Header {
	h := &mail.Header{}
	h.Set(key, value)
	return h
}

// lenientMessageIDs finds <...> tokens in v; without any, the words of v
// that contain an '@' (or all words) are the ids.
func lenientMessageIDs(v string) []string {
	v = cleanHeaderText(v)
	var ids []string
	rest := v
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			break
		}
		if id := strings.TrimSpace(rest[i+1 : i+j]); id != "" {
			ids = append(ids, id)
		}
		rest = rest[i+j+1:]
	}
	if len(ids) > 0 {
		return ids
	}
	for _, w := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == ';' }) {
		if w = strings.Trim(w, "<>\"'"); w != "" && !strings.HasPrefix(w, "(") {
			ids = append(ids, w)
		}
	}
	return ids
}

// dateLayouts are tried when net/mail cannot read a Date.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05",
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 MST",
	"2 Jan 06 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon Jan 2 15:04:05 -0700 2006",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	time.RFC3339,
	"Monday, January 2, 2006 15:04 -0700",
	"Monday, January 2, 2006 3:04 PM",
}

// parseDateLenient reads a Date that net/mail rejects: comments, doubled
// spaces, dots for colons, a missing or named zone, trailing junk.
func parseDateLenient(v string) (time.Time, error) {
	if len(v) > 200 {
		return time.Time{}, fmt.Errorf("unreadable date of %d bytes", len(v))
	}
	s := v
	// Remove comments.
	for {
		i := strings.IndexByte(s, '(')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], ')')
		if j < 0 {
			s = s[:i]
			break
		}
		s = s[:i] + " " + s[i+j+1:]
	}
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimSuffix(s, " GMT+0000")
	for cut := 0; cut < 3; cut++ {
		for _, layout := range dateLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				return t, nil
			}
		}
		if t, err := netmail.ParseDate(s); err == nil {
			return t, nil
		}
		// Drop a trailing word (junk or an unknown zone name).
		i := strings.LastIndexByte(s, ' ')
		if i < 0 {
			break
		}
		s = s[:i]
	}
	return time.Time{}, fmt.Errorf("unreadable date %q", v)
}

// Content-Type and Content-Disposition.

// mediaHeader is a parsed Content-Type or Content-Disposition value.
type mediaHeader struct {
	mediaType string            // lower case; "" when absent
	params    map[string]string // lower-case names, decoded values
	broken    bool              // the value was not well-formed

	// The fast path (fastMediaHeader) keeps a few parameters here instead
	// of in params.
	few  [4]mediaParam
	nFew int
}

type mediaParam struct{ name, value string }

// param returns the value of the parameter name (lower case), or "".
func (mh *mediaHeader) param(name string) string {
	if mh.params != nil {
		return mh.params[name]
	}
	for _, p := range mh.few[:mh.nFew] {
		if p.name == name {
			return p.value
		}
	}
	return ""
}

func parseContentType(v string, fast bool) mediaHeader {
	mh := parseMediaHeader(v, fast)
	if mh.mediaType != "" && !strings.Contains(mh.mediaType, "/") {
		// "text" alone and similar.
		switch mh.mediaType {
		case "text":
			mh.mediaType = "text/plain"
		case "multipart":
			mh.mediaType = "multipart/mixed"
		default:
			mh.mediaType = "application/octet-stream"
		}
		mh.broken = true
	}
	return mh
}

// parseMediaHeader parses "type; name=value; ..." with mime.ParseMediaType
// and, where that fails or would drop an RFC 2231 value in a charset other
// than UTF-8, with a lenient parser of its own. Values are RFC 2047 and
// charset decoded.
func parseMediaHeader(v string, fast bool) mediaHeader {
	v = strings.TrimSpace(v)
	if v == "" {
		return mediaHeader{}
	}
	if fast {
		if mh, ok := fastMediaHeader(v); ok {
			return mh
		}
	}
	var mh mediaHeader
	mt, params, err := mime.ParseMediaType(v)
	if err == nil && !strings.Contains(v, "*=") && !strings.Contains(v, "*0") {
		mh = mediaHeader{mediaType: strings.ToLower(mt), params: params}
	} else {
		mh = lenientMediaHeader(v)
		mh.broken = err != nil
	}
	for k, p := range mh.params {
		mh.params[k] = cleanHeaderText(decodeHeaderText(p))
	}
	return mh
}

// lenientMediaHeader parses a media header that mime.ParseMediaType
// rejects: duplicate parameters (the first wins), unquoted specials, 8-bit
// values, RFC 2231 continuations in any charset.
func lenientMediaHeader(v string) mediaHeader {
	pieces := splitParams(v)
	mh := mediaHeader{
		mediaType: strings.ToLower(strings.TrimSpace(pieces[0])),
		params:    map[string]string{},
	}
	if i := strings.IndexAny(mh.mediaType, " \t\"'="); i >= 0 {
		mh.mediaType = mh.mediaType[:i]
	}
	type ext struct {
		charset  string
		sections map[int]string
		encoded  map[int]bool
	}
	exts := map[string]*ext{}
	for _, p := range pieces[1:] {
		eq := strings.IndexByte(p, '=')
		if eq <= 0 {
			continue
		}
		name := strings.ToLower(strings.TrimSpace(p[:eq]))
		val := strings.TrimSpace(p[eq+1:])
		if len(val) >= 2 && val[0] == '"' {
			val = unquoteParam(val)
		}
		base, section, encoded, isExt := splitExtName(name)
		if !isExt {
			if _, dup := mh.params[name]; !dup {
				mh.params[name] = val
			}
			continue
		}
		e := exts[base]
		if e == nil {
			e = &ext{sections: map[int]string{}, encoded: map[int]bool{}}
			exts[base] = e
		}
		if _, dup := e.sections[section]; dup {
			continue
		}
		if section == 0 && encoded {
			if parts := strings.SplitN(val, "'", 3); len(parts) == 3 {
				e.charset, val = parts[0], parts[2]
			}
		}
		e.sections[section] = val
		e.encoded[section] = encoded
	}
	for base, e := range exts {
		var raw []byte
		for i := 0; i < len(e.sections); i++ {
			s, ok := e.sections[i]
			if !ok {
				break
			}
			if e.encoded[i] {
				raw = append(raw, percentDecode(s)...)
			} else {
				raw = append(raw, s...)
			}
		}
		if len(raw) == 0 {
			continue
		}
		s, _ := decodeCharset(e.charset, raw)
		mh.params[base] = s // the extended form wins over the plain one
	}
	return mh
}

// splitParams splits at semicolons outside double quotes.
func splitParams(v string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

func unquoteParam(v string) string {
	v = v[1:]
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			if i+1 < len(v) {
				i++
				b.WriteByte(v[i])
			}
		case '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// splitExtName splits an RFC 2231 parameter name: "filename*1*" is section
// 1 of filename, percent-encoded.
func splitExtName(name string) (base string, section int, encoded, ok bool) {
	i := strings.IndexByte(name, '*')
	if i < 0 {
		return name, 0, false, false
	}
	base, rest := name[:i], name[i+1:]
	if rest == "" {
		return base, 0, true, true
	}
	encoded = strings.HasSuffix(rest, "*")
	rest = strings.TrimSuffix(rest, "*")
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || n > 100 {
		return name, 0, false, false
	}
	return base, n, encoded, true
}

func percentDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out
}

// Charsets.

// decodeCharset converts b from the charset label to UTF-8. An empty label,
// us-ascii and utf-8 take valid UTF-8 as it is; invalid UTF-8 and unknown
// charsets fall back to windows-1252. The note says what was guessed, or is
// empty when the label was honoured.
func decodeCharset(label string, b []byte) (string, string) {
	label = normaliseCharset(label)
	switch label {
	case "", "utf-8", "us-ascii", "unknown-8bit", "x-unknown", "unknown", "default":
		if utf8.Valid(b) {
			return string(b), ""
		}
		if mostlyUTF8(b) {
			return strings.ToValidUTF8(string(b), "\uFFFD"), "invalid UTF-8 sequences replaced"
		}
		note := "undeclared 8-bit text decoded as windows-1252"
		if label == "utf-8" {
			note = "text declared UTF-8 is not; decoded as windows-1252"
		}
		return windows1252ToUTF8(b), note
	case "iso-8859-1", "latin1", "l1", "iso_8859-1", "iso8859-1", "cp819", "ibm819", "windows-1252", "cp1252":
		// As browsers do: ISO-8859-1 mail is windows-1252 in practice
		// (curly quotes, euro sign).
		return windows1252ToUTF8(b), ""
	}
	r, err := charset.Reader(label, bytes.NewReader(b))
	if err == nil {
		if out, err := io.ReadAll(r); err == nil {
			if bytes.Contains(out, replacementChar) && !bytes.Contains(b, replacementChar) {
				// Mislabelled: Shift_JIS sent as iso-2022-jp and the like.
				for _, alt := range hintCompanions[label] {
					if s, ok := decodeStrict(alt, b); ok {
						return s, fmt.Sprintf("text labelled %s decoded as %s", label, alt)
					}
				}
			}
			return string(out), ""
		}
	}
	if utf8.Valid(b) {
		return string(b), fmt.Sprintf("unknown charset %q; read as UTF-8", label)
	}
	return windows1252ToUTF8(b), fmt.Sprintf("unknown charset %q; decoded as windows-1252", label)
}

// replacementChar is U+FFFD in UTF-8, what decoders put for bytes they
// cannot map.
var replacementChar = []byte("\uFFFD")

// charsetAliases maps labels seen in the wild to ones the charset tables
// know.
var charsetAliases = map[string]string{
	"iso-gb2312":     "gbk",
	"gb2312":         "gbk",
	"x-gbk":          "gbk",
	"cp-1251":        "windows-1251",
	"cp-1252":        "windows-1252",
	"cp-1250":        "windows-1250",
	"utf8":           "utf-8",
	"x-utf8":         "utf-8",
	"ascii":          "us-ascii",
	"ansi_x3.4-1968": "us-ascii",
	"iso-8859-8-i":   "iso-8859-8",
	"ks_c_5601":      "euc-kr",
	"x-sjis":         "shift_jis",
}

func normaliseCharset(label string) string {
	label = strings.ToLower(strings.TrimSpace(label))
	label = strings.Trim(label, `"' `)
	label = strings.TrimPrefix(label, "charset=")
	label = strings.Trim(label, `"' `)
	if i := strings.IndexAny(label, " ;\t"); i >= 0 {
		label = label[:i]
	}
	if a, ok := charsetAliases[label]; ok {
		return a
	}
	return label
}

// mostlyUTF8 reports whether b is UTF-8 with only a few broken sequences:
// more valid multi-byte characters than invalid bytes.
func mostlyUTF8(b []byte) bool {
	valid, invalid := 0, 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size == 1:
			invalid++
		case size > 1:
			valid++
		}
		b = b[size:]
	}
	return valid > 2*invalid
}

func windows1252ToUTF8(b []byte) string {
	return windows1252String(b)
}

// windows1252Rune decodes one windows-1252 byte.
func windows1252Rune(c byte) rune { return charmap.Windows1252.DecodeByte(c) }

// htmlMetaCharset finds <meta charset=...> or the http-equiv form in the
// first 4 KiB of an HTML body.
func htmlMetaCharset(b []byte) string {
	if len(b) > 4096 {
		b = b[:4096]
	}
	lower := bytes.ToLower(b)
	for off := 0; ; {
		i := bytes.Index(lower[off:], []byte("<meta"))
		if i < 0 {
			return ""
		}
		off += i
		end := bytes.IndexByte(lower[off:], '>')
		if end < 0 {
			return ""
		}
		tag := lower[off : off+end]
		off += end
		j := bytes.Index(tag, []byte("charset="))
		if j < 0 {
			continue
		}
		v := bytes.TrimLeft(tag[j+len("charset="):], `"' `)
		k := 0
		for k < len(v) && (v[k] == '-' || v[k] == '_' || v[k] == '.' || v[k] == ':' ||
			'a' <= v[k] && v[k] <= 'z' || '0' <= v[k] && v[k] <= '9') {
			k++
		}
		if k > 0 {
			return string(v[:k])
		}
	}
}

// The MIME walk.

// mimeWalker walks the entities of a message in order. Parse uses it to
// collect text, attachments and forwarded headers; ExtractAttachment uses
// it, in extract mode, to find one attachment and copy it out.
type mimeWalker struct {
	prob    *problemList
	msg     *Message // nil in extract mode
	hints   *charsetHints
	topSink *bodySink
	fields  *fieldArena // for header field lists; nil: allocate them
	copyBuf []byte
	fast    bool // take the fast paths

	altGroups []altGroup // the multipart/alternatives seen, by altBranch.group

	parts    int  // entities visited
	attachN  int  // attachments seen
	stopped  bool // extract mode found its attachment
	overflow bool // maxParts reached

	// extract mode
	extract    bool
	wantIndex  int
	extractTo  io.Writer
	extracted  Attachment
	extractErr error
}

// walkCtx is what a part inherits from its ancestors.
type walkCtx struct {
	sink      *bodySink   // where body text goes
	alts      []altBranch // multipart/alternative ancestors
	digest    bool        // parent is multipart/digest
	forwarded bool        // inside a message/rfc822 part
}

// altGroup remembers which branch of a multipart/alternative supplied the
// plain text and the HTML, so that the other branches, which say the same,
// are not added again.
type altGroup struct {
	plain, html int
}

type altBranch struct {
	group  int // in mimeWalker.altGroups
	branch int
}

// bodySink collects the text of one message (the outer one or a forwarded
// one).
type bodySink struct {
	text, html  textBuf
	truncated   bool
	forwardText string // text of the first forwarded message that has any
}

func (s *bodySink) add(b *textBuf, t string, prob *problemList) {
	if b.Len()+len(t) > maxTextBytes {
		if !s.truncated {
			prob.addf("body text longer than %d bytes truncated", maxTextBytes)
		}
		s.truncated = true
		t = t[:max(0, maxTextBytes-b.Len())]
		for len(t) > 0 && !utf8.RuneStart(t[len(t)-1]) {
			t = t[:len(t)-1]
		}
	}
	if b.Len() > 0 && t != "" {
		if !strings.HasSuffix(b.String(), "\n") {
			b.writeByte('\n')
		}
		if b == &s.text {
			b.writeByte('\n')
		}
	}
	b.writeString(t)
}

// result returns the text (derived from the HTML when there is no plain
// text) and the HTML.
func (s *bodySink) result() (text, htmlBody string) {
	text = strings.TrimSpace(s.text.String())
	htmlBody = s.html.String()
	if text == "" && strings.TrimSpace(htmlBody) != "" {
		text = htmlToText(htmlBody)
	}
	return text, htmlBody
}

// walkEntity visits one entity and, for multiparts and attached messages,
// its children.
func (w *mimeWalker) walkEntity(h partHeader, body []byte, depth int, ctx walkCtx) {
	if w.stopped {
		return
	}
	if w.parts >= maxParts {
		if !w.overflow {
			w.prob.addf("more than %d MIME parts; the rest was skipped", maxParts)
			w.overflow = true
		}
		return
	}
	w.parts++

	if depth > 0 {
		h = fix8bitHeader(h, w.hints)
	}
	ctRaw := h.Get("Content-Type")
	ct := parseContentType(ctRaw, w.fast)
	if ct.broken && ctRaw != "" {
		w.prob.add("malformed Content-Type")
	}
	if ct.mediaType == "" {
		if ctx.digest {
			ct.mediaType = "message/rfc822"
		} else {
			ct.mediaType = "text/plain"
			if depth == 0 && h.Has("Mime-Version") {
				w.prob.add("no Content-Type; text/plain assumed")
			}
		}
	}
	if depth == 0 && w.msg != nil {
		w.msg.ContentType = ct.mediaType
		w.msg.ReportType = strings.ToLower(ct.param("report-type"))
	}

	if strings.HasPrefix(ct.mediaType, "multipart/") {
		boundary := ct.param("boundary")
		if boundary == "" {
			w.prob.add("multipart without boundary; body treated as text")
			ct = mediaHeader{mediaType: "text/plain", params: map[string]string{"charset": ct.param("charset")}}
			w.leaf(h, ct, body, depth, ctx)
			return
		}
		var partBuf [8][]byte
		parts, found, closed := splitMultipart(partBuf[:0], body, boundary)
		if !found {
			if len(bytes.TrimSpace(body)) > 0 {
				w.prob.add("multipart body without boundary lines; treated as text")
				ct = mediaHeader{mediaType: "text/plain", params: map[string]string{"charset": ct.param("charset")}}
				w.leaf(h, ct, body, depth, ctx)
			} else {
				w.prob.add("multipart without parts")
			}
			return
		}
		if !closed {
			w.prob.add("closing MIME boundary missing; last part kept as far as it goes")
		}
		if depth+1 > maxDepth {
			w.prob.addf("MIME nesting deeper than %d levels; inner parts skipped", maxDepth)
			return
		}
		child := ctx
		child.digest = ct.mediaType == "multipart/digest"
		alt := ct.mediaType == "multipart/alternative"
		var altBuf [4]altBranch
		if alt {
			// The branches' lists differ only in their last entry, and each
			// is used only while its branch is walked.
			w.altGroups = append(w.altGroups, altGroup{plain: -1, html: -1})
			child.alts = append(append(altBuf[:0], ctx.alts...), altBranch{len(w.altGroups) - 1, 0})
		}
		for i, p := range parts {
			if w.stopped {
				return
			}
			if alt {
				child.alts[len(child.alts)-1].branch = i
			}
			hb := readPartHeader(p, w.prob, w.fields)
			w.walkEntity(hb.header, hb.body, depth+1, child)
		}
		return
	}
	w.leaf(h, ct, body, depth, ctx)
}

// readPartHeader reads the header of a body part. A part that starts with
// its blank line has no header; one whose first line is not a field has no
// header either and starts with its body.
func readPartHeader(p []byte, prob *problemList, arena *fieldArena) headerBlock {
	line, rest := nextLine(p)
	if len(line) == 0 {
		return headerBlock{body: rest}
	}
	if !isFieldLine(line) {
		prob.add("MIME part without header")
		return headerBlock{body: p}
	}
	return readHeader(p, prob, arena)
}

// splitMultipart returns the bodies of the parts of a multipart body, found
// between boundary delimiter lines; found is false when there is no
// delimiter line at all, closed false when the closing one is missing (the
// last part then runs to the end). The bodies are slices of body, appended
// to dst.
func splitMultipart(dst [][]byte, body []byte, boundary string) (parts [][]byte, found, closed bool) {
	parts = dst
	var delimBuf [80]byte
	delim := append(append(delimBuf[:0], "--"...), boundary...)
	start := -1 // start of the current part's body
	pos := 0
	for pos < len(body) {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		i += pos
		pos = i + len(delim)
		if i > 0 && body[i-1] != '\n' {
			continue
		}
		after := body[i+len(delim):]
		isClose := bytes.HasPrefix(after, []byte("--"))
		if !isClose {
			line, _ := nextLine(after)
			if len(bytes.Trim(line, " \t")) != 0 {
				continue // a longer boundary that starts with ours
			}
		}
		if start >= 0 {
			end := i
			if end > start && body[end-1] == '\n' {
				end--
				if end > start && body[end-1] == '\r' {
					end--
				}
			}
			parts = append(parts, body[start:end])
			if len(parts) > maxParts {
				return parts, true, true
			}
		}
		found = true
		if isClose {
			return parts, true, true
		}
		_, rest := nextLine(after)
		start = len(body) - len(rest)
		pos = start
	}
	if start >= 0 {
		parts = append(parts, body[start:])
	}
	return parts, found, false
}

// leaf handles a non-multipart entity: body text, attachment or attached
// message.
func (w *mimeWalker) leaf(h partHeader, ct mediaHeader, body []byte, depth int, ctx walkCtx) {
	disp := parseMediaHeader(h.Get("Content-Disposition"), w.fast)
	name := disp.param("filename")
	if name == "" {
		name = ct.param("name")
	}
	cte := h.Get("Content-Transfer-Encoding")
	enc := parseTransferEncoding(cte)
	mt := ct.mediaType
	isBodyType := mt == "text/plain" || mt == "text/html"

	isBody := isBodyType && disp.mediaType != "attachment" && name == ""
	if enc == encUnknown && isBody && isPlainBytes(body) {
		w.prob.addf("unknown transfer encoding %q; text read as it is", truncateRunes(cleanHeaderText(cte), 40))
		enc = encIdentity
	}
	switch {
	case enc == encUnknown:
		w.prob.addf("unknown transfer encoding %q; part kept undecoded as attachment", truncateRunes(cleanHeaderText(cte), 40))
	case mt == "message/rfc822" || mt == "message/global" || mt == "text/rfc822-headers":
		w.attachedMessage(ct, disp, name, enc, body, depth, ctx)
		return
	case isBody:
		w.bodyText(ct, enc, body, ctx)
		return
	}
	w.attachment(ct, disp, name, enc, body, ctx)
}

// lineEndings turns CRLF, a doubled CR before LF and a lone CR into LF.
var lineEndings = strings.NewReplacer("\r\r\n", "\n", "\r\n", "\n", "\r", "\n")

// isPlainBytes reports whether b (its first 64 KiB) reads as text: no NUL
// and hardly any other control bytes.
func isPlainBytes(b []byte) bool {
	if len(b) > 64<<10 {
		b = b[:64<<10]
	}
	ctl := 0
	for _, c := range b {
		switch {
		case c == 0:
			return false
		case c < ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\f':
			ctl++
		}
	}
	return ctl*100 <= len(b)
}

// bodyText decodes a text/plain or text/html body part into the sink.
func (w *mimeWalker) bodyText(ct mediaHeader, enc transferEncoding, body []byte, ctx walkCtx) {
	isHTML := ct.mediaType == "text/html"
	// Within a multipart/alternative only one branch supplies each type.
	for _, a := range ctx.alts {
		g := &w.altGroups[a.group]
		taken := g.plain
		if isHTML {
			taken = g.html
		}
		if taken >= 0 && taken != a.branch {
			return
		}
	}
	for _, a := range ctx.alts {
		g := &w.altGroups[a.group]
		if isHTML {
			g.html = a.branch
		} else {
			g.plain = a.branch
		}
	}
	if w.extract {
		return
	}

	var b []byte
	owned := false // b is scratch, from bodyBufs
	var scratch *[]byte
	if w.fast {
		scratch = bodyBufs.Get().(*[]byte)
		if enc == encBase64 {
			// Well-formed base64 has no white space in its lines, so it
			// never looks like text.
			b, owned = decodeBase64Std(*scratch, body)
			*scratch = b[:0]
		}
	}
	if !owned && enc == encBase64 && looksLikeText(body) {
		w.prob.add("text part labelled base64 is plain text; kept as it is")
		enc = encIdentity
	}
	var st decodeStats
	label := ct.param("charset")
	switch {
	case owned:
	case w.fast:
		// Quoted-printable may come out partly folded (decodeQPTo) when
		// nothing looks at the bytes before the charset conversion folds
		// them: no <meta> charset to find in the first bytes, no cut at
		// maxTextBytes, a charset that decodeBodyTextFast folds after.
		foldCRLF := len(body) <= maxTextBytes && (label != "" || !isHTML) && foldsLineEndings(commonCharset(label))
		b, owned = decodeBodyBytesTo(*scratch, enc, body, &st, foldCRLF)
	default:
		rst := new(decodeStats)
		r := newTransferReader(enc, body, rst)
		var err error
		b, err = io.ReadAll(io.LimitReader(r, maxTextBytes+1))
		st.add(rst)
		if err != nil {
			w.prob.addf("body part could not be read completely: %v", err)
		}
	}
	w.noteDecodeStats(enc, st)
	if len(b) > maxTextBytes {
		b = b[:maxTextBytes]
	}

	if label == "" && isHTML {
		label = htmlMetaCharset(b)
	}
	var text, note string
	if w.fast {
		text, note = decodeBodyTextFast(label, b, owned)
		if owned {
			putBodyBuf(scratch, b)
		} else {
			bodyBufs.Put(scratch)
		}
	} else {
		text, note = decodeBodyText(label, b, false)
	}
	if note != "" {
		w.prob.add(note)
	}
	if isHTML {
		ctx.sink.add(&ctx.sink.html, text, w.prob)
		return
	}
	if strings.EqualFold(ct.param("format"), "flowed") {
		text = unflow(text, strings.EqualFold(ct.param("delsp"), "yes"))
	}
	ctx.sink.add(&ctx.sink.text, text, w.prob)
}

// noteDecodeStats records what a transfer decoder had to skip.
func (w *mimeWalker) noteDecodeStats(enc transferEncoding, st decodeStats) {
	if st.invalid > 0 {
		w.prob.addf("invalid %s data skipped", enc)
	}
	if st.truncated {
		w.prob.addf("%s data cut short", enc)
	}
}

// attachment lists (Parse) or copies out (ExtractAttachment) one
// attachment. Parse only counts its decoded size (decodedSize; base64 is
// counted without decoding it); the content is never held in memory.
func (w *mimeWalker) attachment(ct mediaHeader, disp mediaHeader, name string, enc transferEncoding, body []byte, ctx walkCtx) {
	if ctx.forwarded {
		// Parts of an attached message stay inside it.
		return
	}
	index := w.attachN
	w.attachN++
	a := Attachment{
		Index:       index,
		Filename:    attachmentName(name, ct.mediaType, index),
		ContentType: ct.mediaType,
		Inline:      disp.mediaType == "inline",
	}
	if w.extract {
		if index != w.wantIndex {
			return
		}
		cw := &countWriter{w: w.extractTo}
		_, err := io.CopyBuffer(cw, newTransferReader(enc, body, nil), w.copyBuf)
		a.Size = cw.n
		w.extracted, w.extractErr, w.stopped = a, err, true
		return
	}
	var st decodeStats
	if w.fast {
		a.Size = decodedSize(enc, body, &st)
	} else {
		cw := &countWriter{}
		if w.copyBuf == nil {
			w.copyBuf = make([]byte, 32<<10)
		}
		rst := new(decodeStats)
		if _, err := io.CopyBuffer(cw, newTransferReader(enc, body, rst), w.copyBuf); err != nil {
			w.prob.addf("attachment %d could not be read completely: %v", index, err)
		}
		st.add(rst)
		a.Size = cw.n
	}
	w.noteDecodeStats(enc, st)
	w.msg.Attachments = append(w.msg.Attachments, a)
}

// attachedMessage handles message/rfc822 and text/rfc822-headers parts:
// their header goes to Message.Forwarded, the part itself is listed as an
// attachment, and a message/rfc822 is walked for its text (used when the
// outer message has none).
func (w *mimeWalker) attachedMessage(ct mediaHeader, disp mediaHeader, name string, enc transferEncoding, body []byte, depth int, ctx walkCtx) {
	// The decoded content: the raw slice for the usual 7bit/8bit, else a
	// decoded copy of at most maxForwardBytes (an encoded message/rfc822 is
	// rare). A larger one is streamed like any attachment and only its
	// header is read.
	content, whole := body, true
	if enc != encIdentity {
		content, _ = io.ReadAll(io.LimitReader(newTransferReader(enc, body, nil), maxForwardBytes+1))
		whole = len(content) <= maxForwardBytes
	}
	if whole {
		w.attachment(ct, disp, name, encIdentity, content, ctx)
	} else {
		w.attachment(ct, disp, name, enc, body, ctx)
	}
	if w.stopped {
		return
	}

	hb, ok := readTopHeaderIn(content, w.prob, w.fields)
	if !ok {
		w.prob.add("attached message without header")
		return
	}
	if w.msg != nil {
		w.msg.Forwarded = append(w.msg.Forwarded, forwardedHeader(hb.header, w.hints, w.fast))
	}
	if ct.mediaType == "text/rfc822-headers" {
		return
	}
	if !whole {
		w.prob.addf("encoded attached message larger than %d bytes; its text was not read", maxForwardBytes)
		return
	}
	if depth+1 > maxDepth {
		w.prob.addf("MIME nesting deeper than %d levels; inner parts skipped", maxDepth)
		return
	}
	inner := &bodySink{}
	w.walkEntity(hb.header, hb.body, depth+1, walkCtx{sink: inner, forwarded: true})
	if w.extract {
		return
	}
	text, _ := inner.result()
	if strings.TrimSpace(text) == "" {
		text = inner.forwardText
	}
	if ctx.sink.forwardText == "" {
		ctx.sink.forwardText = text
	}
}

func forwardedHeader(h partHeader, hints *charsetHints, fast bool) ForwardedHeader {
	h = fix8bitHeader(h, hints)
	f := ForwardedHeader{
		MessageID: parseMessageID(h, fast),
		Subject:   cleanHeaderText(decodeHeaderText(h.Get("Subject"))),
		InReplyTo: parseMessageIDList(h, "In-Reply-To", fast),
	}
	var buf [2]Address
	if from := parseAddressesTo(buf[:0], h.Get("From"), fast); len(from) > 0 {
		f.From = from[0]
	}
	return f
}

// Text helpers.

// unflow joins the lines of a format=flowed text (RFC 3676): a line that
// ends in a space continues on the next line of the same quote depth; with
// DelSp=yes that space is removed.
func unflow(s string, delsp bool) string {
	outp, parap := bodyBufs.Get().(*[]byte), bodyBufs.Get().(*[]byte)
	out, para := (*outp)[:0], (*parap)[:0]
	depth, open := 0, false
	flush := func() {
		if !open {
			return
		}
		if depth > 0 {
			for range depth {
				out = append(out, '>')
			}
			if len(para) > 0 {
				out = append(out, ' ')
			}
		}
		out = append(out, para...)
		out = append(out, '\n')
		para = para[:0]
		open = false
	}
	for rest := s; ; {
		l, next, more := strings.Cut(rest, "\n")
		d := 0
		for d < len(l) && l[d] == '>' {
			d++
		}
		content := l[d:]
		content = strings.TrimPrefix(content, " ") // space-stuffing
		if open && d != depth {
			flush()
		}
		depth, open = d, true
		flowed := strings.HasSuffix(content, " ") && content != "-- "
		if flowed && delsp {
			content = content[:len(content)-1]
		}
		para = append(para, content...)
		if !flowed {
			flush()
		}
		if !more {
			break
		}
		rest = next
	}
	flush()
	text := string(bytes.TrimSuffix(out, []byte("\n")))
	putBodyBuf(outp, out)
	putBodyBuf(parap, para)
	return text
}

// htmlToText derives readable text from HTML: tags are removed, the content
// of head, script and style is dropped, line-breaking elements become line
// breaks, entities are decoded and runs of blank lines collapse to one.
func htmlToText(s string) string {
	p := bodyBufs.Get().(*[]byte)
	b := (*p)[:0]
	pre := 0
	lineStart, space := true, false
	writeText := func(t string) {
		if t == "" {
			return
		}
		if strings.IndexByte(t, '&') >= 0 {
			t = html.UnescapeString(t)
		}
		if pre > 0 {
			b = append(b, t...)
			lineStart = strings.HasSuffix(t, "\n")
			space = false
			return
		}
		for i := 0; i < len(t); {
			if isPlainHTMLTextByte(t[i]) {
				// A run of ASCII that is not white space, at once.
				j := i + 1
				for j < len(t) && isPlainHTMLTextByte(t[j]) {
					j++
				}
				b = append(b, t[i:j]...)
				lineStart, space = false, false
				i = j
				continue
			}
			r, size := utf8.DecodeRuneInString(t[i:])
			i += size
			switch r {
			case ' ', '\t', '\n', '\r', '\f', '\u00a0':
				if !lineStart && !space {
					b = append(b, ' ')
					space = true
				}
			default:
				b = utf8.AppendRune(b, r)
				lineStart, space = false, false
			}
		}
	}
	newline := func() {
		b = append(b, '\n')
		lineStart, space = true, false
	}
	ensureLine := func() {
		if !lineStart {
			newline()
		}
	}

	i := 0
	for i < len(s) {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			writeText(s[i:])
			break
		}
		writeText(s[i : i+lt])
		i += lt
		rest := s[i:]
		if strings.HasPrefix(rest, "<!--") {
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		if len(rest) > 1 && (rest[1] == '!' || rest[1] == '?') {
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				break
			}
			i += end + 1
			continue
		}
		j := 1
		closing := false
		if j < len(rest) && rest[j] == '/' {
			closing = true
			j++
		}
		isLetter := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
		k := j
		for k < len(rest) && (isLetter(rest[k]) || k > j && (rest[k] >= '0' && rest[k] <= '9' || rest[k] == ':' || rest[k] == '-')) {
			k++
		}
		if k == j {
			// Not a tag ("a <6", "<3"): a literal '<'.
			writeText("<")
			i++
			continue
		}
		name := strings.ToLower(rest[j:k])
		i += tagEnd(rest, k)

		switch name {
		case "script", "style", "head", "title", "xml", "template":
			if closing {
				continue
			}
			end := indexClosingTag(s[i:], name)
			if end < 0 {
				if name == "head" {
					continue // keep the content of an unclosed head
				}
				i = len(s)
				continue
			}
			i += end
		case "br":
			newline()
		case "p", "div", "tr", "table", "ul", "ol", "dl", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
			"center", "section", "article", "header", "footer", "address", "form", "fieldset", "dd", "dt", "caption":
			if closing {
				newline()
			} else {
				ensureLine()
			}
		case "li":
			if !closing {
				ensureLine()
			}
		case "hr":
			ensureLine()
			newline()
		case "pre":
			if closing {
				if pre > 0 {
					pre--
				}
				newline()
			} else {
				ensureLine()
				pre++
			}
		case "td", "th":
			if !closing && !lineStart {
				writeText(" ")
			}
		}
	}
	b = tidyLinesInPlace(b)
	text := string(b)
	putBodyBuf(p, b)
	return text
}

// isPlainHTMLTextByte reports whether c is ASCII and not white space.
func isPlainHTMLTextByte(c byte) bool {
	return c < utf8.RuneSelf && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f'
}

// tagEnd returns the length of the tag at s[0] whose name ends at k: up to
// and including the '>' outside quoted attribute values.
func tagEnd(s string, k int) int {
	var quote byte
	for i := k; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			// An unbalanced quote must not swallow the document.
			if strings.IndexByte(s[i+1:], c) < 0 {
				continue
			}
			quote = c
		case c == '>':
			return i + 1
		}
	}
	return len(s)
}

// indexClosingTag returns the offset just past "</name ...>" in s,
// matching the name case-insensitively, or -1.
func indexClosingTag(s, name string) int {
	for off := 0; ; {
		i := strings.Index(s[off:], "</")
		if i < 0 {
			return -1
		}
		off += i + 2
		if len(s)-off >= len(name) && strings.EqualFold(s[off:off+len(name)], name) {
			after := off + len(name)
			if after == len(s) || s[after] == '>' || s[after] == ' ' || s[after] == '\t' || s[after] == '\n' || s[after] == '\r' {
				if end := strings.IndexByte(s[after:], '>'); end >= 0 {
					return after + end + 1
				}
				return len(s)
			}
		}
	}
}

// tidyLines trims every line and collapses runs of blank lines into one.
func tidyLines(s string) string {
	p := bodyBufs.Get().(*[]byte)
	b := tidyLinesInPlace(append((*p)[:0], s...))
	text := string(b)
	putBodyBuf(p, b)
	return text
}

// tidyLinesInPlace is tidyLines in b's own memory; it returns the shortened
// b. What it writes never overtakes what it reads: each line is preceded by
// at most as many line breaks as it was.
func tidyLinesInPlace(b []byte) []byte {
	w, blank := 0, 0
	started := false
	for r := 0; ; {
		end := bytes.IndexByte(b[r:], '\n')
		last := end < 0
		if last {
			end = len(b)
		} else {
			end += r
		}
		l := bytes.TrimSpace(b[r:end])
		if len(l) == 0 {
			blank++
		} else {
			if started {
				b[w] = '\n'
				w++
				if blank > 0 {
					b[w] = '\n'
					w++
				}
			}
			w += copy(b[w:], l)
			started = true
			blank = 0
		}
		if last {
			return b[:w]
		}
		r = end + 1
	}
}
