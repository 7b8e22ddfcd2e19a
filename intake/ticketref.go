package intake

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// A ticket reference is PREFIX-YEAR-NUMBER, e.g. PO-2026-0042: the prefix
// from the configuration, a four-digit year and a sequence number of at
// least four digits (PO-2026-10042 once a year has more than 9999 tickets).
// It appears in the subject of every mail Loket sends, usually in brackets,
// and requesters copy it into their own subjects.

// maxRefDigits bounds the sequence number so that a run of digits in a
// message cannot produce an absurd reference.
const maxRefDigits = 9

// FormatTicketRef returns the reference for ticket n of the given year, with
// the prefix in upper case and n zero-padded to four digits:
// FormatTicketRef("po", 2026, 42) is "PO-2026-0042".
func FormatTicketRef(prefix string, year, n int) string {
	if year < 0 || n < 0 {
		return fmt.Sprintf("%s-%04d-%04d", strings.ToUpper(prefix), year, n)
	}
	b := make([]byte, 0, len(prefix)+16)
	b = append(b, strings.ToUpper(prefix)...)
	b = append(b, '-')
	b = appendPadded(b, year)
	b = append(b, '-')
	b = appendPadded(b, n)
	return string(b)
}

// appendPadded appends n (not negative) with at least four digits, as
// %04d does.
func appendPadded(b []byte, n int) []byte {
	for d := 1000; d > 1 && n < d; d /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// ParseTicketRef finds the first ticket reference with the given prefix in s
// and returns it normalised to upper case. The match is case-insensitive and
// must stand on its own: the characters around it, if any, are not letters,
// digits or underscores, so "[PO-2026-0042]", "Re: po-2026-0042:" and
// "(PO-2026-0042)" all match but "XPO-2026-0042" and "PO-2026-0042a" do not.
func ParseTicketRef(s, prefix string) (ref string, ok bool) {
	refs := findTicketRefs(s, prefix, 1)
	if len(refs) == 0 {
		return "", false
	}
	return refs[0], true
}

// findTicketRefs returns up to max distinct references (all when max <= 0)
// in order of appearance.
func findTicketRefs(s, prefix string, max int) []string {
	if prefix == "" || len(s) < len(prefix)+10 {
		return nil
	}
	up := strings.ToUpper(prefix)
	var refs []string
	for i := 0; i+len(prefix) <= len(s); i++ {
		if !strings.EqualFold(s[i:i+len(prefix)], prefix) {
			continue
		}
		if i > 0 && isRefWordByteBefore(s, i) {
			continue
		}
		ref, n := matchRefTail(s[i+len(prefix):])
		if n == 0 {
			continue
		}
		end := i + len(prefix) + n
		if end < len(s) && isRefWordByteAt(s, end) {
			continue
		}
		full := up + ref
		if !slices.Contains(refs, full) {
			refs = append(refs, full)
			if max > 0 && len(refs) >= max {
				break
			}
		}
		i = end - 1
	}
	return refs
}

// matchRefTail matches "-YYYY-NNNN..." at the start of s and returns the
// matched text and its length, or 0 when it does not match.
func matchRefTail(s string) (string, int) {
	if len(s) < 10 || s[0] != '-' {
		return "", 0
	}
	for i := 1; i <= 4; i++ {
		if !isASCIIDigit(s[i]) {
			return "", 0
		}
	}
	if s[5] != '-' {
		return "", 0
	}
	n := 6
	for n < len(s) && isASCIIDigit(s[n]) {
		n++
	}
	digits := n - 6
	if digits < 4 || digits > maxRefDigits {
		return "", 0
	}
	return s[:n], n
}

func isASCIIDigit(b byte) bool { return b >= '0' && b <= '9' }

// isRefWordByteBefore reports whether the rune ending just before s[i] is a
// word character (letter, digit, underscore).
func isRefWordByteBefore(s string, i int) bool {
	r := lastRune(s[:i])
	return isWordRune(r)
}

// isRefWordByteAt reports whether the rune starting at s[i] is a word
// character.
func isRefWordByteAt(s string, i int) bool {
	for _, r := range s[i:] {
		return isWordRune(r)
	}
	return false
}

func lastRune(s string) rune {
	var last rune = -1
	// Walk back to the start of the last UTF-8 sequence.
	for j := len(s) - 1; j >= 0 && j >= len(s)-4; j-- {
		if s[j] < 0x80 || s[j] >= 0xC0 {
			for _, r := range s[j:] {
				last = r
				break
			}
			break
		}
	}
	return last
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}
