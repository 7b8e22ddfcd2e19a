package intake

import (
	"errors"
	"fmt"
	"log/slog"
)

// HandleError is a Handler's failure to store a fetched message (a full
// disk, a store that cannot write). The Poller does not go past the
// message: its session ends, the cursor stays where it was, and the message
// is fetched again after the backoff, until it is stored.
type HandleError struct {
	UID uint32
	Err error
}

func (e *HandleError) Error() string { return fmt.Sprintf("handle UID %d: %v", e.UID, e.Err) }

func (e *HandleError) Unwrap() error { return e.Err }

// errorAfterFailures is how many failed sessions in a row make a
// connection problem loud: one dropped connection is a warning, a server
// that stays away is an error.
const errorAfterFailures = 5

// failureLevel is the log level of a failed session: ERROR when a message
// could not be stored (the mailbox stops advancing, which someone must
// fix) or the failures go on, WARN for a passing connection problem.
func failureLevel(err error, failures int) slog.Level {
	var he *HandleError
	if errors.As(err, &he) || failures >= errorAfterFailures {
		return slog.LevelError
	}
	return slog.LevelWarn
}
