package config

import (
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in the file as a Go duration string
// such as "30s", "5m" or "1h30m".
type Duration struct {
	time.Duration
}

// UnmarshalText parses a duration with time.ParseDuration.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(text)))
	if err != nil {
		return fmt.Errorf("invalid duration %q: use for example \"30s\", \"5m\" or \"1h30m\"", text)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.Duration.String()), nil
}

// Size is a number of bytes, written in the file as a plain integer or a
// string with a unit: "1024", "512KB", "50MB", "25MiB". KB, MB and GB are
// powers of 1000; KiB, MiB and GiB powers of 1024. Units are not case
// sensitive and may be separated from the number by a space.
type Size int64

// Bytes returns the size as a plain number of bytes.
func (s Size) Bytes() int64 { return int64(s) }

var sizeUnits = []struct {
	name string
	mult int64
}{
	{"GiB", 1 << 30},
	{"GB", 1000 * 1000 * 1000},
	{"MiB", 1 << 20},
	{"MB", 1000 * 1000},
	{"KiB", 1 << 10},
	{"KB", 1000},
	{"B", 1},
}

func parseSize(text string) (Size, error) {
	s := strings.TrimSpace(text)
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: use a number of bytes, or a number with KB, MB, GB (1000) or KiB, MiB, GiB (1024), for example \"50MB\"", text)
	}
	unit := strings.TrimSpace(s[end:])
	if unit == "" {
		return Size(n), nil
	}
	for _, u := range sizeUnits {
		if strings.EqualFold(unit, u.name) {
			if n > math.MaxInt64/u.mult || n < math.MinInt64/u.mult {
				return 0, fmt.Errorf("size %q is too large", text)
			}
			return Size(n * u.mult), nil
		}
	}
	return 0, fmt.Errorf("invalid size %q: unknown unit %q; use B, KB, MB, GB, KiB, MiB or GiB", text, unit)
}

// UnmarshalText parses a size such as "50MB", "25MiB", "512KB" or "1024".
func (s *Size) UnmarshalText(text []byte) error {
	v, err := parseSize(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// String writes the size with the largest unit that divides it exactly,
// so that it parses back to the same value: "50MB", "25MiB", "1234B".
func (s Size) String() string {
	for _, u := range sizeUnits {
		if s != 0 && int64(s)%u.mult == 0 {
			return strconv.FormatInt(int64(s)/u.mult, 10) + u.name
		}
	}
	return "0B"
}

// MarshalText writes the size as String does.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Secret holds a password or token read from a file or the environment.
// Every way of printing it — fmt verbs, slog, JSON, text — shows
// "REDACTED"; call Reveal where the value itself is needed, and only there.
type Secret string

const redacted = "REDACTED"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns "REDACTED".
func (s Secret) String() string { return redacted }

// GoString returns "REDACTED" in quotes.
func (s Secret) GoString() string { return strconv.Quote(redacted) }

// Format prints "REDACTED" for every verb, so that %v, %+v, %#v, %s, %q, %x
// and %d of a struct holding a Secret never show it.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		fmt.Fprint(f, strconv.Quote(redacted))
		return
	}
	fmt.Fprint(f, redacted)
}

// LogValue returns "REDACTED".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText returns "REDACTED".
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MarshalJSON returns "REDACTED" as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
