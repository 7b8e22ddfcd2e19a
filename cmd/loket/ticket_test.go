package main

import (
	"io"
	"slices"
	"testing"
	"time"
)

func TestParseWhen(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-03-12T13:00", time.Date(2026, 3, 12, 12, 0, 0, 0, time.UTC), true},
		{"2026-07-01 09:30", time.Date(2026, 7, 1, 7, 30, 0, 0, time.UTC), true},
		{"2026-03-12T13:00:00+01:00", time.Date(2026, 3, 12, 12, 0, 0, 0, time.UTC), true},
		{"12 maart", time.Time{}, false},
	} {
		got, err := parseWhen(c.in)
		if (err == nil) != c.ok || (c.ok && !got.Equal(c.want)) {
			t.Errorf("parseWhen(%q) = %v, %v", c.in, got, err)
		}
	}
}

func TestParseInterleaved(t *testing.T) {
	fs := newFlagSet("ticket test", io.Discard)
	cfg := fs.String("config", "", "")
	note := fs.String("note", "", "")
	pos, err := parseInterleaved(fs, []string{"PO-2026-0042", "--config", "x.toml", "close", "--note", "klaar"})
	if err != nil || !slices.Equal(pos, []string{"PO-2026-0042", "close"}) || *cfg != "x.toml" || *note != "klaar" {
		t.Errorf("pos %v cfg %q note %q err %v", pos, *cfg, *note, err)
	}
}
