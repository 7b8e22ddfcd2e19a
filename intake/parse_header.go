package intake

import "net/textproto"

// partHeader is a message or part header as readHeader reads it: the
// fields that Parse looks at (usedHeaderKeys) in message order, with
// canonical keys. Lookups take a canonical key and return the first
// occurrence.
type partHeader struct {
	fields []headerField
	count  int  // fields in the header, kept or not
	clean  bool // every value is valid UTF-8 without ESC (fix8bitHeader)
}

type headerField struct {
	key, value string
}

// Get returns the value of the first field named k, or "".
func (h partHeader) Get(k string) string {
	for _, f := range h.fields {
		if f.key == k {
			return f.value
		}
	}
	return ""
}

// Values returns the values of every field named k, in message order, or nil.
func (h partHeader) Values(k string) []string {
	var out []string
	for _, f := range h.fields {
		if f.key == k {
			out = append(out, f.value)
		}
	}
	return out
}

// Has reports whether a field named k is present.
func (h partHeader) Has(k string) bool {
	for _, f := range h.fields {
		if f.key == k {
			return true
		}
	}
	return false
}

// Len returns the number of fields in the header, including those not kept.
func (h partHeader) Len() int { return h.count }

// usedHeaderKeys holds the canonical keys of the fields that Parse looks
// at; readHeader keeps no others.
var usedHeaderKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range append([]string{
		"Subject", "From", "Reply-To", "To", "Cc", "Date", "Sender",
		"Message-Id", "In-Reply-To", "References", "Mime-Version",
		"Content-Type", "Content-Disposition", "Content-Transfer-Encoding",
	}, envelopeHeaderKeys...) {
		k = textproto.CanonicalMIMEHeaderKey(k)
		m[k] = k
	}
	return m
}()

// maxUsedKeyLen is longer than any key in usedHeaderKeys.
const maxUsedKeyLen = 40

// usedHeaderKey returns the canonical form of a field name
// (textproto.CanonicalMIMEHeaderKey) when it is in usedHeaderKeys, else "".
// Every used key is made of letters, digits and '-'; any other name is not
// used and needs no canonical form.
func usedHeaderKey(name []byte) string {
	if len(name) >= maxUsedKeyLen {
		return ""
	}
	var buf [maxUsedKeyLen]byte
	upper := true
	for i, c := range name {
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				c -= 'a' - 'A'
			}
		case 'A' <= c && c <= 'Z':
			if !upper {
				c += 'a' - 'A'
			}
		case '0' <= c && c <= '9' || c == '-':
		default:
			return ""
		}
		buf[i] = c
		upper = c == '-'
	}
	return usedHeaderKeys[string(buf[:len(name)])]
}
