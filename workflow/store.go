package workflow

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bucket names. Every bucket Loket uses is listed here and created at Open.
var (
	bucketMeta             = []byte("meta")               // "schema" -> version
	bucketCursors          = []byte("cursors")            // mailbox name -> cursor JSON
	bucketTickets          = []byte("tickets")            // ref -> Ticket JSON
	bucketMessages         = []byte("messages")           // seq -> MessageRecord JSON (parsed, no raw)
	bucketRaw              = []byte("raw")                // seq -> raw RFC 5322 bytes; a message over bigRaw: seq -> bucket {"raw": bytes} (ingest.go)
	bucketMessageIDs       = []byte("message_ids")        // Message-ID -> seq (dedupe and threading), merged (message_ids.go)
	bucketMessageIDsRecent = []byte("message_ids_recent") // Message-ID -> seq: the newest, until merged (message_ids.go)
	bucketCounters         = []byte("counters")           // "ticket/2026" -> uint64
	bucketOutbox           = []byte("outbox")             // seq -> OutboxEntry JSON
	bucketOutboxPending    = []byte("outbox_pending")     // seq -> empty: entries still to deliver
	bucketUnmatched        = []byte("unmatched")          // message seq -> empty: auto-replies/bounces matching no ticket
	bucketAutoSent         = []byte("auto_sent")          // recipient address -> JSON []time.Time (rate limit)
	bucketCorrections      = []byte("corrections")        // ticket ref -> Correction JSON: type changes by a person
	bucketBounced          = []byte("bounced")            // address -> Bounced JSON: no automatic mail for a while (guard.go)
	bucketThirdParty       = []byte("third_party")        // SHA-256 of Message-ID -> ticket ref: mail from outside a ticket (guard.go)
	bucketSessions         = []byte("sessions")           // session id -> Seats JSON: who is placed, who waits
	bucketTimers           = []byte("timers")             // ticket ref + "/" + timer kind -> Timer JSON
	bucketUsers            = []byte("users")              // address -> User JSON: project leaders of the desk (users.go)
	bucketLoginSessions    = []byte("login_sessions")     // SHA-256 of session ID -> Session JSON: desk logins (users.go)
	bucketTicketIndex      = []byte("ticket_index")       // ref -> TicketSummary JSON: the queue's compact view (index.go)
	bucketTicketWords      = []byte("ticket_words")       // ref -> lower-case body words, space-separated (index.go)
	bucketIndexLog         = []byte("index_log")          // seq -> ref: summaries changed, for the in-memory index (index.go)
)

var allBuckets = [][]byte{bucketMeta, bucketCursors, bucketTickets, bucketMessages, bucketRaw,
	bucketMessageIDs, bucketCounters, bucketOutbox, bucketOutboxPending, bucketUnmatched, bucketAutoSent, bucketCorrections,
	bucketBounced, bucketThirdParty,
	bucketSessions, bucketTimers, bucketUsers, bucketLoginSessions, bucketTicketIndex, bucketTicketWords, bucketIndexLog,
	bucketMessageIDsRecent}

// bucketSince is the schema version that added a bucket, for those added
// after the first: a backup of an older version lacks them (CheckBackup),
// and Open adds them.
var bucketSince = map[string]uint64{string(bucketMessageIDsRecent): 2}

// schemaVersion is the version of the bucket layout this code writes.
//
//	1: the first.
//	2: new Message-IDs go to message_ids_recent first (message_ids.go); a
//	   Loket of version 1 would not see them and take their messages again.
const schemaVersion = 2

// Store is Loket's bbolt database.
type Store struct {
	db  *bolt.DB
	idx ticketIndex // in-memory queue index over bucketTicketIndex (index.go)
}

// ErrNotFound is returned when a ticket, message or entry does not exist.
var ErrNotFound = errors.New("not found")

// storePageSize is the page size of a new store. A message's raw bytes
// (3 KB on average) and its ticket (2–3 KB) each filled most of a 4 KB page
// or spilled into an overflow page, so a commit wrote about three pages, in
// one write call each, per message. At 16 KB, several values share a page:
// the import's serial commit costs a quarter less (BenchmarkIngestBatch,
// docs/PERFORMANCE.md), and the file is 12 % smaller.
const storePageSize = 16 << 10

// Open opens (creating when absent) the store at path. It fails after a
// timeout when another process holds the file, instead of hanging.
func Open(path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open store: create folder: %w", err)
		}
	}
	// A mapping of 1 GiB from the start (address space, not memory): bbolt
	// remaps when a commit outgrows the mapping, and a remap copies every
	// value the transaction wrote, a big message included, onto the heap.
	// A new store gets pages of storePageSize; an existing one keeps the
	// page size it was made with.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, InitialMmapSize: 1 << 30, PageSize: storePageSize})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("open store %s: the file is locked by another process (is loket serve running?)", path)
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := s.upgrade(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) upgrade() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		v := meta.Get([]byte("schema"))
		switch {
		case v == nil:
			return meta.Put([]byte("schema"), itob(schemaVersion))
		case btoi(v) > schemaVersion:
			return fmt.Errorf("store schema version %d is newer than this Loket (%d): upgrade Loket", btoi(v), schemaVersion)
		case btoi(v) == schemaVersion:
			return nil
		}
		// Upgrade steps, each in this one transaction.
		if btoi(v) < 2 {
			if err := upgradeMessageIDsTx(tx); err != nil {
				return fmt.Errorf("upgrade store to schema 2: %w", err)
			}
		}
		return meta.Put([]byte("schema"), itob(schemaVersion))
	})
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the database file's path.
func (s *Store) Path() string { return s.db.Path() }

func itob(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func btoi(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", key, err)
	}
	return b.Put(key, data)
}

// getJSON decodes the value at key into v; it returns ErrNotFound when absent.
// json.Unmarshal copies, so nothing of the transaction's memory escapes.
func getJSON(b *bolt.Bucket, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %q: %w", key, err)
	}
	return nil
}
