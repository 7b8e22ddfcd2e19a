package intake

// backlog.go decides, on a mailbox's first start, what happens to the mail
// already in its folder: a desk that switches Loket on finds thousands of
// old messages there, and confirming each would mail people about requests
// long answered.
//
// "The backlog" is every UID up to the highest one at the first SELECT with
// no stored cursor; mail arriving after that is new mail. The boundary is
// stored before anything is fetched (CursorStarter), in the cursor record
// itself, so an import cut short by a crash resumes with the same boundary
// and a restart never takes the backlog for new mail.

import (
	"context"
	"fmt"
	"slices"

	"github.com/emersion/go-imap/v2"
)

// What InitialSync may say.
const (
	// InitialSyncImport takes the backlog as new mail and confirms it
	// (the behaviour before InitialSync existed; the zero value).
	InitialSyncImport = "import"
	// InitialSyncImportSilent stores the backlog as tickets without
	// sending anything: each Fetched of it has Backlog set.
	InitialSyncImportSilent = "import-silent"
	// InitialSyncNewOnly skips the backlog: the cursor starts at its last
	// UID without fetching anything.
	InitialSyncNewOnly = "new-only"
)

// InitialSyncModes lists the valid values of InitialSync, the default
// of the configuration ("import-silent") first.
var InitialSyncModes = []string{InitialSyncImportSilent, InitialSyncNewOnly, InitialSyncImport}

// CursorStarter is implemented by a Handler that can store a mailbox's
// first cursor before any message is handled. Without it every
// InitialSync works as InitialSyncImport.
type CursorStarter interface {
	// StartCursor stores c for the mailbox unless a cursor is stored
	// already, and returns the cursor stored afterwards.
	StartCursor(ctx context.Context, mailbox string, c Cursor) (Cursor, error)
}

// firstStart returns cur, or on the mailbox's first start (no stored
// cursor) the cursor InitialSync asks for, stored.
func (s *session) firstStart(ctx context.Context, cur Cursor) (Cursor, error) {
	p := s.p
	mode := p.cfg.InitialSync
	if cur != (Cursor{}) || mode == "" || mode == InitialSyncImport {
		return cur, nil
	}
	cs, ok := p.h.(CursorStarter)
	if !ok {
		return cur, nil
	}
	top, err := s.highestUID()
	if err != nil {
		return cur, err
	}
	start := Cursor{UIDValidity: s.uidValidity}
	switch mode {
	case InitialSyncNewOnly:
		start.LastUID = top
	case InitialSyncImportSilent:
		start.BacklogUntil = top
	default:
		return cur, fmt.Errorf("mailbox %s: unknown initial sync %q", p.cfg.Name, mode)
	}
	stored, err := cs.StartCursor(ctx, p.cfg.Name, start)
	if err != nil {
		return cur, fmt.Errorf("store first cursor: %w", err)
	}
	p.log.Info("imap: first start", "initial_sync", mode, "backlog_until_uid", top,
		"skipped", mode == InitialSyncNewOnly)
	return stored, nil
}

// highestUID is the highest UID in the folder as of SELECT: UIDNEXT−1,
// or, from a server that gave no UIDNEXT, the largest UID a search finds.
func (s *session) highestUID() (uint32, error) {
	if s.uidNext > 0 {
		return s.uidNext - 1, nil
	}
	var data *imap.SearchData
	if err := s.do("UID SEARCH ALL", s.p.cfg.CommandTimeout, func() error {
		var err error
		data, err = s.c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
		return err
	}); err != nil {
		return 0, err
	}
	uids := data.AllUIDs()
	if len(uids) == 0 {
		return 0, nil
	}
	return uint32(slices.Max(uids)), nil
}
