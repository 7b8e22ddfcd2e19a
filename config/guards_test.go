package config

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The loop and bounce guards of [confirmations]: defaults, values, and
// negative values refused with their key and line.
func TestConfirmationGuards(t *testing.T) {
	base, err := os.ReadFile("testdata/valid.toml")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(extra string) (*Config, error) {
		return Parse([]byte(string(base)+"\n[confirmations]\n"+extra), "testdata/valid.toml")
	}
	c, err := parse("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Confirmations.PerSenderPerHour != 3 || c.Confirmations.BounceQuiet.Duration != 168*time.Hour {
		t.Errorf("defaults: per hour %d, bounce quiet %s; want 3 and 168h", c.Confirmations.PerSenderPerHour, c.Confirmations.BounceQuiet)
	}
	c, err = parse("per_sender_per_hour = 1\nbounce_quiet = \"72h\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Confirmations.PerSenderPerHour != 1 || c.Confirmations.BounceQuiet.Duration != 72*time.Hour {
		t.Errorf("set: per hour %d, bounce quiet %s; want 1 and 72h", c.Confirmations.PerSenderPerHour, c.Confirmations.BounceQuiet)
	}
	_, err = parse("per_sender_per_hour = -1\nbounce_quiet = \"-1h\"\n")
	if err == nil {
		t.Fatal("negative values accepted")
	}
	lines := strings.Count(string(base), "\n") + 1
	for _, want := range []string{
		"valid.toml:" + strconv.Itoa(lines+2) + ": confirmations.per_sender_per_hour: must not be negative",
		"valid.toml:" + strconv.Itoa(lines+3) + ": confirmations.bounce_quiet: must not be negative",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
}
