package config

import (
	"errors"
	"strings"
	"testing"
)

func TestBackupSection(t *testing.T) {
	base := "[storage]\npath = \"x.db\"\n"
	c, err := Parse([]byte(base+"[backup]\ndir = \"bk\"\ninterval = \"6h\"\nkeep = 3\n"), "/etc/loket/loket.toml")
	var cerr *Error
	if err != nil && !errors.As(err, &cerr) {
		t.Fatal(err)
	}
	// Other sections are missing, so Parse reports problems; the backup
	// keys must not be among them.
	if err != nil && strings.Contains(err.Error(), "backup.") {
		t.Errorf("valid [backup] reported: %v", err)
	}
	_ = c
	_, err = Parse([]byte(base+"[backup]\ndir = \"bk\"\ninterval = \"0s\"\nkeep = 0\n"), "/etc/loket/loket.toml")
	for _, want := range []string{"loket.toml:5: backup.interval", "loket.toml:6: backup.keep"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want a problem %q, got %v", want, err)
		}
	}
}
