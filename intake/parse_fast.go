package intake

// Fast paths for the shapes that ordinary mail has: one-line RFC 5322
// dates, plain ASCII addresses and msg-ids, simple Content-Type values and
// UTF-8 or Latin-1 body text. Each one either gives exactly what the
// generic code gives or declines (ok false), and the generic code runs;
// TestParseFastMatchesGeneric and FuzzParse hold them to that.

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"io"
	"math/bits"
	netmail "net/mail"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// rfc5322DateLayout is the layout net/mail.ParseDate ends up using for the
// usual "Mon, 2 Jan 2006 15:04:05 -0700".
const rfc5322DateLayout = "Mon, 2 Jan 2006 15:04:05 -0700"

// parseDate is net/mail.ParseDate. Its fast path parses a date that starts
// with a day name and has a numeric zone directly with the one layout
// ParseDate would reach after two dozen failed attempts (its layouts
// without a day name cannot match a value that starts with a letter). Like
// ParseDate it ignores what follows the zone, provided that it does not
// start with a comment that ParseDate would have to look into.
func parseDate(v string, fast bool) (time.Time, error) {
	if fast && len(v) > 0 && isASCIILetter(v[0]) && strings.IndexByte(v, '\r') < 0 {
		if i := strings.IndexAny(v, "+-"); i >= 0 && len(v) >= i+5 && plainDateTail(v[i+5:]) {
			if t, err := time.Parse(rfc5322DateLayout, v[:i+5]); err == nil {
				return t, nil
			}
		}
	}
	return netmail.ParseDate(v)
}

// plainDateTail reports whether what follows a date's zone is nothing that
// net/mail.ParseDate would reject: no comment, or one simple comment
// "(CET)" not followed by another.
func plainDateTail(s string) bool {
	s = strings.TrimLeft(s, " \t")
	if s == "" || s[0] != '(' {
		return true
	}
	end := strings.IndexByte(s, ')')
	if end < 0 || strings.ContainsAny(s[1:end], "(\\") {
		return false
	}
	rest := strings.TrimLeft(s[end+1:], " \t")
	return rest == "" || rest[0] != '('
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isASCIIAtext reports whether c is an RFC 5322 atext character or a dot,
// as net/mail and go-message take it, for ASCII.
func isASCIIAtext(c byte) bool { return atextBytes[c] }

var atextBytes = func() (t [256]bool) {
	for c := '!'; c <= '~'; c++ {
		t[c] = !strings.ContainsRune(`()<>[]:;@\,"`, c)
	}
	return t
}()

// fastMsgIDs reads a list of plain ASCII <left@right> msg-ids separated by
// white space, as go-message's MsgIDList does (with first, one msg-id and
// nothing after it, as its MessageID). It declines anything else: comments,
// domain literals, 8-bit text, missing brackets.
func fastMsgIDs(v string, first bool) ([]string, bool) {
	if first {
		id, ok := fastMsgID(v)
		if !ok {
			return nil, false
		}
		return []string{id}, true
	}
	ids := make([]string, 0, max(1, strings.Count(v, "<")))
	s := v
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			break
		}
		id, rest, ok := cutMsgID(s)
		if !ok {
			return nil, false
		}
		ids = append(ids, id)
		s = rest
	}
	if len(ids) == 0 {
		return nil, false
	}
	return ids, true
}

// fastMsgID is fastMsgIDs(v, true) without the list.
func fastMsgID(v string) (string, bool) {
	s := strings.TrimLeft(v, " \t")
	if s == "" {
		return "", false
	}
	id, rest, ok := cutMsgID(s)
	if !ok || strings.Trim(rest, " \t") != "" {
		return "", false
	}
	return id, true
}

// cutMsgID reads the plain <left@right> msg-id that starts s.
func cutMsgID(s string) (id, rest string, ok bool) {
	if s[0] != '<' {
		return "", "", false
	}
	end, at := -1, -1
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '>' {
			end = i
			break
		}
		if c == '@' {
			if at >= 0 {
				return "", "", false
			}
			at = i
			continue
		}
		if !isASCIIAtext(c) {
			return "", "", false
		}
	}
	if end < 0 || at < 2 || end-at < 2 {
		return "", "", false
	}
	return s[1:end], s[end+1:], true
}

// fastAddressList parses an address list of printable ASCII made of
// "addr@host", "Name <addr@host>" and "\"Name\" <addr@host>" elements the
// way net/mail's ParseList does, followed by makeAddress. It declines
// comments, groups, escapes, encoded words, 8-bit text, white space inside
// an address and anything net/mail would reject.
func fastAddressList(v string) ([]Address, bool) {
	return fastAddressListTo(nil, v)
}

// fastAddressListTo is fastAddressList into dst's memory where it has room.
func fastAddressListTo(dst []Address, v string) ([]Address, bool) {
	if strings.Contains(v, "=?") {
		return nil, false
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c < ' ' || c > '~':
			return nil, false
		case c == '(' || c == ')' || c == '\\' || c == '[' || c == ']' || c == ':' || c == ';':
			return nil, false
		}
	}
	out := dst[:0]
	if n := min(strings.Count(v, "@"), maxAddresses); cap(out) < n {
		out = make([]Address, 0, n)
	}
	s := v
	for {
		s = strings.TrimLeft(s, " ")
		for len(s) > 0 && s[0] == ',' {
			s = strings.TrimLeft(s[1:], " ")
		}
		if s == "" {
			break
		}
		a, rest, ok := fastAddress(s)
		if !ok {
			return nil, false
		}
		out = append(out, a)
		s = strings.TrimLeft(rest, " ")
		if s == "" {
			break
		}
		if s[0] != ',' {
			return nil, false
		}
	}
	if len(out) == 0 {
		return nil, false
	}
	return out[:min(len(out), maxAddresses)], true
}

// fastAddress parses one address at the start of s (no leading space).
func fastAddress(s string) (Address, string, bool) {
	// An addr-spec is tried first, as net/mail does.
	if spec, rest, ok := fastAddrSpec(s); ok {
		return makeAddress("", spec), rest, true
	} else if rest != "" && rest[0] == '@' {
		return Address{}, "", false // an addr-spec net/mail might read otherwise
	}
	// phrase "<" addr-spec ">"
	var buf [8]string
	words := buf[:0]
	// Unquoted words one space apart are their joined name already: a
	// substring of s from the first word's start to the last one's end.
	orig, quoted, size, end := s, false, -1, 0
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return Address{}, "", false
		}
		if s[0] == '<' {
			break
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return Address{}, "", false
			}
			words = append(words, s[1:1+end])
			s = s[end+2:]
			quoted = true
			continue
		}
		i := 0
		for i < len(s) && isASCIIAtext(s[i]) {
			i++
		}
		if i == 0 {
			return Address{}, "", false
		}
		words = append(words, s[:i])
		size += i + 1
		s = s[i:]
		end = len(orig) - len(s)
	}
	spec, rest, ok := fastAddrSpec(s[1:])
	if !ok || rest == "" || rest[0] != '>' {
		return Address{}, "", false
	}
	name := ""
	switch start := len(orig) - len(strings.TrimLeft(orig, " ")); {
	case len(words) == 1:
		name = words[0]
	case len(words) > 1 && !quoted && end-start == size:
		name = orig[start:end] // words are at least one space apart
	case len(words) > 1:
		name = strings.Join(words, " ")
	}
	return makeAddress(name, spec), rest[1:], true
}

// fastAddrSpec reads local@domain, both dot-atoms without leading, trailing
// or doubled dots, at the start of s. On failure rest is where the local
// part ended.
func fastAddrSpec(s string) (spec, rest string, ok bool) {
	local := dotAtomLen(s)
	if local == 0 || !validDotAtom(s[:local]) {
		return "", s[local:], false
	}
	if local == len(s) || s[local] != '@' {
		return "", s[local:], false
	}
	d := s[local+1:]
	n := dotAtomLen(d)
	if n == 0 || !validDotAtom(d[:n]) {
		return "", s[local:], false
	}
	return s[:local+1+n], d[n:], true
}

func dotAtomLen(s string) int {
	i := 0
	for i < len(s) && isASCIIAtext(s[i]) {
		i++
	}
	return i
}

func validDotAtom(a string) bool {
	return a[0] != '.' && a[len(a)-1] != '.' && !strings.Contains(a, "..")
}

// fastMediaHeader parses a Content-Type or Content-Disposition value of
// printable ASCII with token or simple quoted parameter values the way
// mime.ParseMediaType does, followed by parseMediaHeader's decoding of the
// values. It declines RFC 2231 parameters, escapes, tabs, 8-bit text and
// whatever ParseMediaType would reject.
func fastMediaHeader(v string) (mediaHeader, bool) {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' || c > '~' || c == '*' || c == '\\' {
			return mediaHeader{}, false
		}
	}
	base := v
	if i := strings.IndexByte(v, ';'); i >= 0 {
		base = v[:i]
	}
	mt := strings.ToLower(strings.TrimSpace(base))
	typ, r := consumeToken(mt)
	if typ == "" {
		return mediaHeader{}, false
	}
	if r != "" {
		if r[0] != '/' {
			return mediaHeader{}, false
		}
		if sub, r2 := consumeToken(r[1:]); sub == "" || r2 != "" {
			return mediaHeader{}, false
		}
	}
	mh := mediaHeader{mediaType: mt}
	s := v[len(base):]
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		if s == ";" {
			break // a trailing semicolon
		}
		if s[0] != ';' {
			return mediaHeader{}, false
		}
		r := strings.TrimLeft(s[1:], " ")
		name, r := consumeToken(r)
		if name == "" {
			if strings.TrimSpace(s) == ";" {
				break
			}
			return mediaHeader{}, false
		}
		r = strings.TrimLeft(r, " ")
		if r == "" || r[0] != '=' {
			return mediaHeader{}, false
		}
		r = strings.TrimLeft(r[1:], " ")
		var value string
		if r != "" && r[0] == '"' {
			end := strings.IndexByte(r[1:], '"')
			if end < 0 {
				return mediaHeader{}, false
			}
			value, r = r[1:1+end], r[end+2:]
		} else {
			value, r = consumeToken(r)
			if value == "" {
				return mediaHeader{}, false
			}
		}
		name = strings.ToLower(name)
		dup := false
		for _, p := range mh.few[:mh.nFew] {
			if p.name == name {
				if p.value != value {
					return mediaHeader{}, false
				}
				dup = true
			}
		}
		if !dup {
			if mh.nFew == len(mh.few) {
				return mediaHeader{}, false
			}
			mh.few[mh.nFew] = mediaParam{name, value}
			mh.nFew++
		}
		s = r
	}
	for i := range mh.few[:mh.nFew] {
		p := &mh.few[i]
		p.value = cleanHeaderText(decodeHeaderText(p.value))
	}
	return mh, true
}

// consumeToken splits an RFC 2045 token off the start of s.
func consumeToken(s string) (token, rest string) {
	i := 0
	for i < len(s) && isTokenByte(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func isTokenByte(c byte) bool { return tokenBytes[c] }

var tokenBytes = func() (t [256]bool) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = !strings.ContainsRune(`()<>@,;:\"/[]?=`, c)
	}
	return t
}()

// decodeBodyBytes decodes a body part's transfer encoding: at most
// maxTextBytes+1 bytes, exactly as io.ReadAll of a LimitReader would give
// them (and consuming as much of the input), but into one buffer of about
// the right size. 7bit and 8bit bodies are the raw slice itself.
func decodeBodyBytes(enc transferEncoding, body []byte, st *decodeStats) []byte {
	b, _ := decodeBodyBytesTo(nil, enc, body, st, false)
	return b
}

// decodeBodyBytesTo is decodeBodyBytes into dst's memory where it has room.
// owned reports that the result is dst's or a new buffer, not a slice of
// body: the caller may overwrite it and reuse it. With foldCRLF, quoted-
// printable may come out with line endings partly folded (decodeQPTo).
func decodeBodyBytesTo(dst []byte, enc transferEncoding, body []byte, st *decodeStats, foldCRLF bool) (b []byte, owned bool) {
	const limit = maxTextBytes + 1
	switch enc {
	case encIdentity, encUnknown:
		return body[:min(len(body), limit)], false
	case encQuotedPrintable:
		if len(body) < limit {
			return decodeQPTo(dst, body, st, foldCRLF), true // never longer than its input
		}
	}
	if enc == encBase64 {
		var ok bool
		if dst, ok = decodeBase64Std(dst, body); ok {
			return dst, true
		}
	}
	rst := new(decodeStats) // the reader keeps it; st stays on the caller's stack
	defer st.add(rst)
	r := newTransferReader(enc, body, rst)
	size := len(body)
	if enc == encBase64 {
		size = len(body)/4*3 + 3
	}
	buf := dst[:0]
	if cap(buf) < min(size, limit) {
		buf = make([]byte, 0, min(size, limit))
	}
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(max(cap(buf), 512), limit-len(buf)))
		}
		k, _ := r.Read(buf[len(buf):min(cap(buf), limit)])
		if k == 0 {
			break
		}
		buf = buf[:len(buf)+k]
	}
	return buf, true
}

// decodeBase64Std decodes well-formed base64 (only the alphabet, CR and LF,
// padding only at the end) with encoding/base64, into dst's memory where it
// has room. base64Reader decodes such input to the same bytes without a
// note, at most maxTextBytes of them. Otherwise ok is false and b is the
// buffer to use instead of dst.
func decodeBase64Std(dst, body []byte) (b []byte, ok bool) {
	n := base64.StdEncoding.DecodedLen(len(body))
	if n > maxTextBytes {
		return dst, false
	}
	b = dst[:0]
	if cap(b) < n {
		b = make([]byte, n)
	}
	k, err := base64.StdEncoding.Decode(b[:n], body)
	if err != nil {
		return b[:0], false
	}
	return b[:k], true
}

// bodyBufs holds scratch buffers for decoded body text that is copied into
// a string anyway.
var bodyBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBodyBuf is the largest buffer kept in bodyBufs.
const maxPooledBodyBuf = 256 << 10

// putBodyBuf returns b, a buffer of the caller's own (never a slice of a
// message), to bodyBufs as *p.
func putBodyBuf(p *[]byte, b []byte) {
	if cap(b) > maxPooledBodyBuf {
		b = nil
	}
	*p = b[:0]
	bodyBufs.Put(p)
}

// decodeQP decodes quoted-printable exactly as qpReader does, in one pass
// into one buffer.
func decodeQP(src []byte, st *decodeStats) []byte {
	return decodeQPTo(nil, src, st, false)
}

// decodeQPTo is decodeQP into dst's memory where it has room: text without
// '=' or line breaks is copied eight bytes at a time, and the white space
// that ends a line is taken off the output when the line break comes (never
// further back than the last escape).
//
// With foldCRLF, a CRLF line break that does not follow a CR in the output
// comes out as LF: the output is then no longer decodeQP's, but folding its
// line endings (lineEndings) gives the same as folding decodeQP's. The
// output before that CR is final and does not end in a CR, so lineEndings
// reads it alike either way, and then turns the CRLF into LF.
func decodeQPTo(dst, src []byte, st *decodeStats, foldCRLF bool) []byte {
	if cap(dst) >= len(src) {
		dst = dst[:len(src)]
	} else {
		dst = make([]byte, len(src))
	}
	n := 0
	lit := 0 // dst[lit:n] was copied literally since the last escape
	for i := 0; i < len(src); {
		for i+8 <= len(src) {
			// n <= i: there is room for eight bytes; those past the
			// first special one are written over.
			x := binary.LittleEndian.Uint64(src[i:])
			binary.LittleEndian.PutUint64(dst[n:], x)
			if m := qpSpecial(x); m != 0 {
				k := bits.TrailingZeros64(m) / 8 // the lowest flag is exact
				n += k
				i += k
				break
			}
			n += 8
			i += 8
		}
		if i == len(src) {
			break
		}
		switch c := src[i]; c {
		case '\n', '\r':
			n = trimQPSpace(dst, lit, n)
			if foldCRLF && c == '\r' && i+1 < len(src) && src[i+1] == '\n' && (n == 0 || dst[n-1] != '\r') {
				dst[n] = '\n'
				n++
				i += 2
				lit = n
				continue
			}
			dst[n] = c
			n++
			i++
			lit = n
		case '=':
			if i+2 < len(src) && isHex(src[i+1]) && isHex(src[i+2]) {
				dst[n] = unhex(src[i+1])<<4 | unhex(src[i+2])
				n++
				i += 3
				lit = n
				continue
			}
			// A soft line break: '=' and optional white space up to the
			// end of the line.
			k := i + 1
			for k < len(src) && (src[k] == ' ' || src[k] == '\t') {
				k++
			}
			switch {
			case k == len(src):
				i = k
			case src[k] == '\n':
				i = k + 1
			case src[k] == '\r' && k+1 < len(src) && src[k+1] == '\n':
				i = k + 2
			case src[k] == '\r':
				i = k + 1
			default:
				if st != nil {
					st.invalid++
				}
				dst[n] = '='
				n++
				i++
			}
			lit = n
		default:
			dst[n] = c
			n++
			i++
		}
	}
	return dst[:trimQPSpace(dst, lit, n)]
}

// trimQPSpace returns n less the spaces and tabs that end dst[lit:n].
func trimQPSpace(dst []byte, lit, n int) int {
	for n > lit && (dst[n-1] == ' ' || dst[n-1] == '\t') {
		n--
	}
	return n
}

// qpSpecial reports (non-zero) whether one of the eight bytes of x may need
// more than a copy: '=' or a control byte below 0x0E, which covers CR and
// LF (and tab, which the byte loop copies).
func qpSpecial(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	v := x ^ (lo * '=')
	return ((v-lo)&^v | (x-lo*0x0E)&^x) & hi
}

// decodedSize returns the decoded size of an attachment, as copying the
// transfer reader would count it, without keeping the content.
func decodedSize(enc transferEncoding, body []byte, st *decodeStats) int64 {
	switch enc {
	case encIdentity, encUnknown:
		return int64(len(body))
	case encBase64:
		return base64Size(body, st)
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	rst := new(decodeStats) // the reader keeps it; st stays on the caller's stack
	defer st.add(rst)
	cw := &countWriter{}
	io.CopyBuffer(cw, newTransferReader(enc, body, rst), *bp) // the readers do not fail
	return cw.n
}

// add adds what a transfer reader counted in o to st (when not nil).
func (st *decodeStats) add(o *decodeStats) {
	if st != nil {
		st.invalid += o.invalid
		st.truncated = st.truncated || o.truncated
	}
}

// copyBufs holds buffers for decodedSize.
var copyBufs = sync.Pool{New: func() any {
	b := make([]byte, 32<<10)
	return &b
}}

// base64Size counts what base64Reader decodes from src, with the same
// statistics.
func base64Size(src []byte, st *decodeStats) int64 {
	var n int64
	nAcc := 0
	for {
		if nAcc == 0 {
			for len(src) >= 4 && base64Values[src[0]]|base64Values[src[1]]|base64Values[src[2]]|base64Values[src[3]] < 64 {
				n += 3
				src = src[4:]
			}
		}
		if len(src) == 0 {
			if nAcc != 0 {
				st.truncated = true
			}
			return n + base64FlushSize(nAcc)
		}
		c := base64Values[src[0]]
		src = src[1:]
		switch {
		case c < 64:
			nAcc++
			if nAcc == 4 {
				n += 3
				nAcc = 0
			}
		case c == 0xFD:
			n += base64FlushSize(nAcc)
			nAcc = 0
		case c == 0xFE:
		default:
			st.invalid++
		}
	}
}

// base64FlushSize is what base64Reader.flush makes of a partial quantum.
func base64FlushSize(nAcc int) int64 {
	switch nAcc {
	case 2:
		return 1
	case 3:
		return 2
	}
	return 0
}

// decodeBodyText is decodeCharset followed by lineEndings.Replace. UTF-8
// and ASCII text that is valid, and Latin-1 text, are converted in one pass
// with their line endings; the rest goes the generic way.
func decodeBodyText(label string, b []byte, fast bool) (string, string) {
	if fast {
		return decodeBodyTextFast(label, b, false)
	}
	text, note := decodeCharset(label, b)
	return lineEndings.Replace(text), note
}

// decodeBodyTextFast is decodeBodyText's fast path. When owned, b is the
// caller's scratch buffer, which it may overwrite: its line endings are
// folded in place and the text is copied once, into a string of its size.
func decodeBodyTextFast(label string, b []byte, owned bool) (string, string) {
	switch commonCharset(label) {
	case "", "utf-8", "us-ascii", "unknown-8bit", "x-unknown", "unknown", "default":
		if utf8.Valid(b) {
			if owned {
				return string(foldLineEndingsInPlace(b)), ""
			}
			return foldLineEndings(b), ""
		}
	case "iso-8859-1", "latin1", "l1", "iso_8859-1", "iso8859-1", "cp819", "ibm819", "windows-1252", "cp1252":
		// Line endings are ASCII, and windows-1252 maps ASCII to itself
		// and every other byte to characters without CR or LF: they can
		// be folded before the conversion.
		if owned {
			return windows1252String(foldLineEndingsInPlace(b)), ""
		}
		if indexCR(b) < 0 {
			return windows1252String(b), ""
		}
		p := bodyBufs.Get().(*[]byte)
		buf := foldLineEndingsInPlace(append((*p)[:0], b...))
		s := windows1252String(buf)
		putBodyBuf(p, buf)
		return s, ""
	}
	text, note := decodeCharset(label, b)
	return foldLineEndingsString(text), note
}

// foldsLineEndings reports whether decodeBodyTextFast, for text in the
// charset (normalised), folds line endings only after a conversion that
// leaves CR and LF as they are and keeps no other byte that reads as one:
// text that is partly folded already gives the same.
func foldsLineEndings(charset string) bool {
	switch charset {
	case "", "utf-8", "us-ascii", "unknown-8bit", "x-unknown", "unknown", "default",
		"iso-8859-1", "latin1", "l1", "iso_8859-1", "iso8859-1", "cp819", "ibm819", "windows-1252", "cp1252":
		return true
	}
	return false
}

// commonCharset is normaliseCharset, without its work for the usual
// labels: "utf-8", "us-ascii", "iso-8859-1" and "windows-1252" in any case.
func commonCharset(label string) string {
	for _, c := range [...]string{"utf-8", "us-ascii", "iso-8859-1", "windows-1252"} {
		if len(label) == len(c) && asciiEqualLower(label, c) {
			return c
		}
	}
	return normaliseCharset(label)
}

// asciiEqualLower reports whether s equals lower, which is lower-case
// ASCII, with ASCII letters of s in either case.
func asciiEqualLower(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// foldLineEndings returns b as a string with CRLF, CR CR LF and a lone CR
// turned into LF, as lineEndings does.
func foldLineEndings(b []byte) string {
	i := indexCR(b)
	if i < 0 {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for i >= 0 {
		sb.Write(b[:i])
		sb.WriteByte('\n')
		b = b[i+crLen(b[i:]):]
		i = indexCR(b)
	}
	sb.Write(b)
	return sb.String()
}

// foldLineEndingsInPlace is foldLineEndings in b's own memory; it returns
// the shortened b.
func foldLineEndingsInPlace(b []byte) []byte {
	i := indexCR(b)
	if i < 0 {
		return b
	}
	w := i // b[:w] is done; b[i] is a CR
	for {
		b[w] = '\n'
		w++
		i += crLen(b[i:])
		k := indexCR(b[i:])
		if k < 0 {
			w += copy(b[w:], b[i:])
			return b[:w]
		}
		w += copy(b[w:], b[i:i+k])
		i += k
	}
}

// crLen returns the length of the line ending at the start of b, which is
// a CR: CR CR LF, CR LF or the CR alone.
func crLen(b []byte) int {
	switch {
	case len(b) > 2 && b[1] == '\r' && b[2] == '\n':
		return 3
	case len(b) > 1 && b[1] == '\n':
		return 2
	}
	return 1
}

func indexCR(b []byte) int { return bytes.IndexByte(b, '\r') }

// foldLineEndingsString is foldLineEndings for a string.
func foldLineEndingsString(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	return foldLineEndings([]byte(s))
}

// windows1252Table holds the UTF-8 encoding of each windows-1252 byte, as
// charmap.Windows1252 decodes it.
var windows1252Table = func() (t [256]string) {
	for i := range t {
		t[i] = string(windows1252Rune(byte(i)))
	}
	return t
}()

// windows1252String returns b decoded from windows-1252, built in one
// allocation of its exact size.
func windows1252String(b []byte) string {
	n := len(b)
	for rest := b; ; {
		i := asciiPrefix(rest)
		if i == len(rest) {
			break
		}
		n += len(windows1252Table[rest[i]]) - 1
		rest = rest[i+1:]
	}
	if n == len(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(n)
	for len(b) > 0 {
		i := asciiPrefix(b)
		sb.Write(b[:i])
		if i == len(b) {
			break
		}
		sb.WriteString(windows1252Table[b[i]])
		b = b[i+1:]
	}
	return sb.String()
}

// asciiPrefix returns the length of the ASCII bytes that start b.
func asciiPrefix(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			break
		}
	}
	for i < len(b) && b[i] < utf8.RuneSelf {
		i++
	}
	return i
}

// isCleanHeaderText reports whether cleanHeaderText has nothing to do but
// trim s: valid UTF-8 without NUL, CR, LF, TAB or C1 controls.
func isCleanHeaderText(s string) bool {
	ascii := true
	i := 0
	// Eight bytes at a time while they are printable ASCII or space:
	// none below 0x20 and none from 0x80.
	for ; i+8 <= len(s); i += 8 {
		const lo, hi = 0x0101010101010101, 0x8080808080808080
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if ((x-lo*0x20)&^x|x)&hi != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0 || c == '\r' || c == '\n' || c == '\t':
			return false
		case c < utf8.RuneSelf:
		case c == 0xC2 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x9F:
			return false
		default:
			ascii = false
		}
	}
	return ascii || utf8.ValidString(s)
}

// textBuf is a strings.Builder that keeps its first string as it is: the
// usual message has one body part, whose text is then not copied again.
type textBuf struct {
	first string
	b     strings.Builder
}

func (t *textBuf) Len() int {
	if t.b.Len() > 0 {
		return t.b.Len()
	}
	return len(t.first)
}

func (t *textBuf) String() string {
	if t.b.Len() > 0 {
		return t.b.String()
	}
	return t.first
}

func (t *textBuf) spill(extra int) {
	if t.first != "" {
		t.b.Grow(len(t.first) + extra)
		t.b.WriteString(t.first)
		t.first = ""
	}
}

func (t *textBuf) writeString(s string) {
	if t.Len() == 0 {
		t.first = s
		return
	}
	t.spill(len(s) + 2)
	t.b.WriteString(s)
}

func (t *textBuf) writeByte(c byte) {
	t.spill(64)
	t.b.WriteByte(c)
}
