package intake

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrAttachmentNotFound is returned by ExtractAttachment when the message has
// no attachment with the requested index.
var ErrAttachmentNotFound = errors.New("intake: attachment not found")

// ExtractAttachment streams the decoded content of attachment index of the
// raw message to w and returns its description, the same one Parse lists.
//
// It walks the message exactly as Parse does (the same walker, the same
// limits), so the indexes always agree. The content is decoded while it is
// copied; nothing but a small buffer is held in memory.
func ExtractAttachment(raw []byte, index int, w io.Writer) (a Attachment, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("extract attachment %d: internal parser error: %v", index, r)
		}
	}()
	if index < 0 {
		return Attachment{}, fmt.Errorf("extract attachment %d: %w", index, ErrAttachmentNotFound)
	}
	wk := &mimeWalker{
		prob:      &problemList{},
		hints:     &charsetHints{raw: raw},
		topSink:   &bodySink{},
		copyBuf:   make([]byte, 32<<10),
		extract:   true,
		wantIndex: index,
		extractTo: w,
		fast:      true,
	}
	top, ok := readTopHeader(raw, wk.prob)
	if !ok {
		return Attachment{}, fmt.Errorf("extract attachment %d: %w (message header unreadable)", index, ErrAttachmentNotFound)
	}
	wk.walkEntity(top.header, top.body, 0, walkCtx{sink: wk.topSink})
	if wk.extractErr != nil {
		return wk.extracted, fmt.Errorf("extract attachment %d: %w", index, wk.extractErr)
	}
	if !wk.stopped {
		return Attachment{}, fmt.Errorf("extract attachment %d (message has %d): %w", index, wk.attachN, ErrAttachmentNotFound)
	}
	return wk.extracted, nil
}

// countWriter counts what is written to it and forwards it to w, if set.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.w == nil {
		c.n += int64(len(p))
		return len(p), nil
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// attachmentExt maps a media type to the extension of a generated name.
// A fixed table, so that names do not depend on the host's mime.types.
var attachmentExt = map[string]string{
	"application/pdf":              "pdf",
	"application/zip":              "zip",
	"application/x-zip-compressed": "zip",
	"application/msword":           "doc",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   "docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         "xlsx",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
	"application/vnd.ms-excel":                "xls",
	"application/vnd.ms-powerpoint":           "ppt",
	"application/rtf":                         "rtf",
	"application/ms-tnef":                     "dat",
	"application/pgp-signature":               "asc",
	"application/pgp-encrypted":               "asc",
	"application/pkcs7-signature":             "p7s",
	"application/x-pkcs7-signature":           "p7s",
	"application/pkcs7-mime":                  "p7m",
	"application/x-pkcs7-mime":                "p7m",
	"application/ics":                         "ics",
	"image/png":                               "png",
	"image/jpeg":                              "jpg",
	"image/jpg":                               "jpg",
	"image/pjpeg":                             "jpg",
	"image/gif":                               "gif",
	"image/bmp":                               "bmp",
	"image/tiff":                              "tif",
	"image/webp":                              "webp",
	"image/svg+xml":                           "svg",
	"text/plain":                              "txt",
	"text/html":                               "html",
	"text/calendar":                           "ics",
	"text/csv":                                "csv",
	"text/vcard":                              "vcf",
	"text/x-vcard":                            "vcf",
	"text/rfc822-headers":                     "txt",
	"message/delivery-status":                 "txt",
	"message/disposition-notification":        "txt",
	"message/rfc822":                          "eml",
	"video/quicktime":                         "mov",
	"video/mp4":                               "mp4",
	"audio/mpeg":                              "mp3",
	"application/vnd.oasis.opendocument.text": "odt",
	"application/vnd.oasis.opendocument.spreadsheet": "ods",
	"message/global": "eml",
}

// forwardedName is the file name listed for a message/rfc822 part that
// carries no name of its own.
const forwardedName = "doorgestuurd-bericht.eml"

// attachmentName returns a safe display name for attachment index (from 0):
// the decoded name without any directory part or control characters, or a
// generated bijlage-N.ext when there is none.
func attachmentName(name, mediaType string, index int) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	name = strings.Map(func(r rune) rune {
		if r == 0 || unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	name = strings.ReplaceAll(name, "\\", "/")
	name = strings.TrimSpace(path.Base(strings.TrimSpace(name)))
	if name == "." || name == "/" || name == ".." {
		name = ""
	}
	if len(name) > 200 {
		// Keep the extension, cut the stem on a rune boundary.
		ext := path.Ext(name)
		if len(ext) > 20 {
			ext = ""
		}
		stem := name[:200-len(ext)]
		for len(stem) > 0 && !utf8.ValidString(stem) {
			stem = stem[:len(stem)-1]
		}
		name = stem + ext
	}
	if name != "" {
		return name
	}
	if mediaType == "message/rfc822" || mediaType == "message/global" {
		return forwardedName
	}
	ext, ok := attachmentExt[mediaType]
	if !ok {
		ext = "bin"
	}
	return fmt.Sprintf("bijlage-%d.%s", index+1, ext)
}

// Transfer decoding.
//
// The decoders below read from the raw bytes of a part (a slice of the
// message, never a copy) and are lenient the way mature mail software is:
// they keep whatever can be decoded and count what they had to skip.

// transferEncoding is a normalised Content-Transfer-Encoding.
type transferEncoding int

const (
	encIdentity transferEncoding = iota
	encQuotedPrintable
	encBase64
	encUUEncode
	encUnknown
)

func (e transferEncoding) String() string {
	switch e {
	case encIdentity:
		return "identity"
	case encQuotedPrintable:
		return "quoted-printable"
	case encBase64:
		return "base64"
	case encUUEncode:
		return "uuencode"
	}
	return "unknown"
}

// parseTransferEncoding normalises a Content-Transfer-Encoding value.
func parseTransferEncoding(v string) transferEncoding {
	v = strings.ToLower(strings.Trim(strings.TrimSpace(v), `"'`))
	if i := strings.IndexAny(v, " \t;("); i >= 0 {
		v = v[:i]
	}
	switch v {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit", "none", "ascii", "us-ascii":
		return encIdentity
	case "quoted-printable", "quoted_printable", "quotedprintable", "qp":
		return encQuotedPrintable
	case "base64", "base-64", "b64":
		return encBase64
	case "x-uuencode", "uuencode", "x-uue", "uue":
		return encUUEncode
	}
	return encUnknown
}

// decodeStats collects what a decoder had to skip.
type decodeStats struct {
	invalid   int  // characters that are not part of the encoding
	truncated bool // the input ended inside an encoded unit
}

// newTransferReader returns a reader of the decoded body. For encUnknown it
// returns the raw bytes.
func newTransferReader(enc transferEncoding, body []byte, st *decodeStats) io.Reader {
	switch enc {
	case encQuotedPrintable:
		return &qpReader{src: body, st: st}
	case encBase64:
		return &base64Reader{src: body, st: st}
	case encUUEncode:
		return &uuReader{src: body, st: st}
	}
	return bytes.NewReader(body)
}

// base64Values maps a byte to its base64 value; 0xFF marks bytes outside the
// alphabet, 0xFE white space and 0xFD the padding '='. Both the standard and
// the URL alphabet are accepted.
var base64Values = func() [256]byte {
	var t [256]byte
	for i := range t {
		t[i] = 0xFF
	}
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(std); i++ {
		t[std[i]] = byte(i)
	}
	t['-'] = 62
	t['_'] = 63
	for _, c := range []byte(" \t\r\n\f\v") {
		t[c] = 0xFE
	}
	t['='] = 0xFD
	return t
}()

// base64Reader decodes base64, skipping characters outside the alphabet and
// restarting after padding (some mailers concatenate encoded chunks).
type base64Reader struct {
	src    []byte
	st     *decodeStats
	acc    uint32
	nAcc   int
	out    [3]byte
	outPos int
	outN   int
}

func (r *base64Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.outPos < r.outN {
			c := copy(p[n:], r.out[r.outPos:r.outN])
			n += c
			r.outPos += c
			continue
		}
		// Fast path: four alphabet characters and room for three bytes.
		if r.nAcc == 0 && len(r.src) >= 4 && len(p)-n >= 3 {
			a, b, c, d := base64Values[r.src[0]], base64Values[r.src[1]], base64Values[r.src[2]], base64Values[r.src[3]]
			if a|b|c|d < 64 {
				v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
				p[n], p[n+1], p[n+2] = byte(v>>16), byte(v>>8), byte(v)
				n += 3
				r.src = r.src[4:]
				continue
			}
		}
		if len(r.src) == 0 {
			if r.nAcc != 0 && r.st != nil {
				r.st.truncated = true
			}
			if !r.flush() {
				break
			}
			continue
		}
		c := base64Values[r.src[0]]
		r.src = r.src[1:]
		switch {
		case c < 64:
			r.acc = r.acc<<6 | uint32(c)
			r.nAcc++
			if r.nAcc == 4 {
				r.out[0], r.out[1], r.out[2] = byte(r.acc>>16), byte(r.acc>>8), byte(r.acc)
				r.outPos, r.outN = 0, 3
				r.acc, r.nAcc = 0, 0
			}
		case c == 0xFD:
			r.flush()
		case c == 0xFE:
		default:
			if r.st != nil {
				r.st.invalid++
			}
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// flush turns a partial quantum into bytes; it reports whether it produced
// any.
func (r *base64Reader) flush() bool {
	var k int
	switch r.nAcc {
	case 2:
		r.out[0] = byte(r.acc >> 4)
		k = 1
	case 3:
		r.out[0], r.out[1] = byte(r.acc>>10), byte(r.acc>>2)
		k = 2
	}
	r.acc, r.nAcc = 0, 0
	r.outPos, r.outN = 0, k
	return k > 0
}

// qpReader decodes quoted-printable. Invalid escapes are kept literally,
// 8-bit bytes pass through, soft line breaks are removed and trailing white
// space before a line break is dropped.
type qpReader struct {
	src     []byte
	st      *decodeStats
	literal int // bytes at the start of src to copy as they are
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func (r *qpReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && len(r.src) > 0 {
		if r.literal > 0 {
			c := copy(p[n:], r.src[:r.literal])
			n += c
			r.src = r.src[c:]
			r.literal -= c
			continue
		}
		c := r.src[0]
		switch c {
		case '=':
			switch {
			case len(r.src) >= 3 && isHex(r.src[1]) && isHex(r.src[2]):
				p[n] = unhex(r.src[1])<<4 | unhex(r.src[2])
				n++
				r.src = r.src[3:]
			default:
				// A soft line break: '=' and optional white space up to
				// the end of the line.
				j := 1
				for j < len(r.src) && (r.src[j] == ' ' || r.src[j] == '\t') {
					j++
				}
				switch {
				case j == len(r.src):
					r.src = nil
				case r.src[j] == '\n':
					r.src = r.src[j+1:]
				case r.src[j] == '\r' && j+1 < len(r.src) && r.src[j+1] == '\n':
					r.src = r.src[j+2:]
				case r.src[j] == '\r':
					r.src = r.src[j+1:]
				default:
					if r.st != nil {
						r.st.invalid++
					}
					p[n] = '='
					n++
					r.src = r.src[1:]
				}
			}
		case ' ', '\t':
			j := 1
			for j < len(r.src) && (r.src[j] == ' ' || r.src[j] == '\t') {
				j++
			}
			if j == len(r.src) || r.src[j] == '\n' || r.src[j] == '\r' {
				r.src = r.src[j:] // trailing white space
			} else {
				r.literal = j
			}
		default:
			// Copy a run of ordinary bytes at once.
			j := 1
			for j < len(r.src) && r.src[j] != '=' && r.src[j] != ' ' && r.src[j] != '\t' {
				j++
			}
			r.literal = j
		}
	}
	if n == 0 && len(p) > 0 && len(r.src) == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// uuReader decodes uuencoded content (Content-Transfer-Encoding x-uuencode),
// with or without the begin and end lines.
type uuReader struct {
	src    []byte
	st     *decodeStats
	out    [64]byte
	outPos int
	outN   int
	done   bool
}

func (r *uuReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.outPos < r.outN {
			c := copy(p[n:], r.out[r.outPos:r.outN])
			n += c
			r.outPos += c
			continue
		}
		if r.done || len(r.src) == 0 {
			break
		}
		line := r.src
		if i := bytes.IndexByte(r.src, '\n'); i >= 0 {
			line, r.src = r.src[:i], r.src[i+1:]
		} else {
			r.src = nil
		}
		line = bytes.TrimRight(line, "\r")
		switch {
		case bytes.HasPrefix(line, []byte("begin ")):
			continue
		case bytes.Equal(bytes.TrimSpace(line), []byte("end")):
			r.done = true
			continue
		case len(line) == 0:
			continue
		}
		want := int((line[0] - ' ') & 63)
		data := line[1:]
		r.outPos, r.outN = 0, 0
		for i := 0; i+1 < len(data) && r.outN < want; i += 4 {
			var q [4]byte
			for k := 0; k < 4; k++ {
				if i+k < len(data) {
					q[k] = (data[i+k] - ' ') & 63
				}
			}
			b := [3]byte{q[0]<<2 | q[1]>>4, q[1]<<4 | q[2]>>2, q[2]<<6 | q[3]}
			for k := 0; k < 3 && r.outN < want; k++ {
				r.out[r.outN] = b[k]
				r.outN++
			}
		}
		if r.outN < want && r.st != nil {
			r.st.truncated = true
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// looksLikeText reports whether a body labelled base64 is in fact plain
// text: base64 lines carry no white space between their characters, while
// prose is full of it. Only the first 64 KiB are looked at.
func looksLikeText(body []byte) bool {
	if len(body) > 64<<10 {
		body = body[:64<<10]
	}
	gaps, lines := 0, 0
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		lines++
		if bytes.ContainsAny(line, " \t") {
			gaps++
		}
	}
	return lines > 0 && gaps*2 > lines
}
