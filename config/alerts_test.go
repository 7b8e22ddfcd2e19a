package config

import (
	"errors"
	"strings"
	"testing"
)

func TestAlertsAndRetentionSections(t *testing.T) {
	base := "[storage]\npath = \"x.db\"\n"
	_, err := Parse([]byte(base+"[alerts]\naddress = \"beheer@poraad.nl\"\nno_poll_after = \"15m\"\n[retention]\nmonths_after_close = 12\n"), "/etc/loket/loket.toml")
	var cerr *Error
	if err != nil && !errors.As(err, &cerr) {
		t.Fatal(err)
	}
	// Other sections are missing, so Parse reports problems; these keys
	// must not be among them.
	if err != nil && (strings.Contains(err.Error(), "alerts.") || strings.Contains(err.Error(), "retention.")) {
		t.Errorf("valid [alerts] / [retention] reported: %v", err)
	}
	_, err = Parse([]byte(base+"[alerts]\naddress = \"beheer\"\nno_poll_after = \"0s\"\nmin_interval = \"-1h\"\n[retention]\nmonths_after_close = -1\n"), "/etc/loket/loket.toml")
	for _, want := range []string{"loket.toml:4: alerts.address", "loket.toml:5: alerts.no_poll_after", "loket.toml:6: alerts.min_interval", "loket.toml:8: retention.months_after_close"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want a problem %q, got %v", want, err)
		}
	}
	d := Default()
	if d.Alerts.NoPollAfter.Duration.Minutes() != 30 || d.Alerts.MinInterval.Duration.Hours() != 1 || d.Retention.MonthsAfterClose != 0 {
		t.Errorf("defaults %+v %+v", d.Alerts, d.Retention)
	}
}
