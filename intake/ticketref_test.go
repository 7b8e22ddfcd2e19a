package intake

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseTicketRef(t *testing.T) {
	tests := []struct {
		in, prefix string
		want       string // "" for no match
	}{
		{"[PO-2026-0042] Ontvangstbevestiging", "PO", "PO-2026-0042"},
		{"RE: [PO-2026-0042] Ontvangstbevestiging", "PO", "PO-2026-0042"},
		{"Aanvulling deelnemers OPP-bijeenkomst [PO-2026-0029]", "PO", "PO-2026-0029"},
		{"planning po-2026-0101", "PO", "PO-2026-0101"},
		{"planning Po-2026-0101:", "po", "PO-2026-0101"},
		{"(PO-2026-0042)", "PO", "PO-2026-0042"},
		{"PO-2026-0042", "PO", "PO-2026-0042"},
		{"nummer PO-2026-10042.", "PO", "PO-2026-10042"},
		{"PO-2026-0042/PO-2026-0043", "PO", "PO-2026-0042"},
		{"Afwezig: [PO-2026-0024] Ontvangstbevestiging", "PO", "PO-2026-0024"},
		{"é[PO-2026-0042]é", "PO", "PO-2026-0042"},
		{"SWV-2026-0042", "SWV", "SWV-2026-0042"},

		{"XPO-2026-0042", "PO", ""},      // letter before
		{"PO-2026-0042a", "PO", ""},      // letter after
		{"PO-2026-0042_", "PO", ""},      // underscore after
		{"éPO-2026-0042", "PO", ""},      // non-ASCII letter before
		{"PO-2026-042", "PO", ""},        // too few digits
		{"PO-26-0042", "PO", ""},         // two-digit year
		{"PO 2026 0042", "PO", ""},       // no dashes
		{"PO-2026–0042", "PO", ""},       // en dash
		{"OPP-2026-0042", "PO", ""},      // other prefix ending in PO
		{"XX-2026-0042", "PO", ""},       // other prefix
		{"[PO-2026-0042]", "", ""},       // no prefix configured
		{"PO-2026-1234567890", "PO", ""}, // absurdly long
		{"", "PO", ""},
	}
	for _, tt := range tests {
		got, ok := ParseTicketRef(tt.in, tt.prefix)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("ParseTicketRef(%q, %q) = %q, %v; want %q", tt.in, tt.prefix, got, ok, tt.want)
		}
	}
}

func TestFormatTicketRef(t *testing.T) {
	check := func(prefix string, year, n int, want string) {
		t.Helper()
		got := FormatTicketRef(prefix, year, n)
		if got != want {
			t.Errorf("FormatTicketRef(%q, %d, %d) = %q, want %q", prefix, year, n, got, want)
		}
		if ref, ok := ParseTicketRef("Re: ["+got+"]", prefix); !ok || ref != got {
			t.Errorf("ParseTicketRef(FormatTicketRef(...)) = %q, %v; want %q", ref, ok, got)
		}
	}
	check("PO", 2026, 42, "PO-2026-0042")
	check("po", 2026, 7, "PO-2026-0007")
	check("PO", 2026, 10042, "PO-2026-10042")
	check("PO", 2027, 9999, "PO-2027-9999")
	check("PO", 2026, 0, "PO-2026-0000")
	check("PO", 2026, 1000, "PO-2026-1000")
	for _, n := range []int{0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 123456789, -1, -42} {
		want := fmt.Sprintf("%s-%04d-%04d", "KB", 987, n)
		if got := FormatTicketRef("kb", 987, n); got != want {
			t.Errorf("FormatTicketRef(kb, 987, %d) = %q, want %q", n, got, want)
		}
	}
}

func TestFindTicketRefsDistinct(t *testing.T) {
	got := findTicketRefs("[PO-2026-0001] zie ook po-2026-0001 en PO-2026-0002", "PO", 0)
	if strings.Join(got, ",") != "PO-2026-0001,PO-2026-0002" {
		t.Errorf("findTicketRefs = %v", got)
	}
}
