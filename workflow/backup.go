package workflow

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// WriteBackup writes a consistent copy of the whole database to w from one
// read transaction (bbolt's Tx.WriteTo): intake and the sender go on while
// it runs, and the copy is the state at the moment the transaction began.
func (s *Store) WriteBackup(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("write backup: %w", err)
	}
	return n, nil
}

// BackupFile writes a backup to path atomically: into a temporary file in
// the same folder, synced, then renamed. A crash leaves either the old file
// or the complete new one.
func (s *Store) BackupFile(path string) (int64, error) {
	return writeFileAtomic(path, s.WriteBackup)
}

func writeFileAtomic(path string, write func(io.Writer) (int64, error)) (int64, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, fmt.Errorf("backup to %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	n, err := write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return n, fmt.Errorf("backup to %s: %w", path, err)
	}
	return n, syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// BackupInfo describes a checked backup file.
type BackupInfo struct {
	Path     string `json:"path"`
	Size     int64  `json:"size"`
	Schema   uint64 `json:"schema"`
	Tickets  int    `json:"tickets"`
	Messages int    `json:"messages"`
}

// CheckBackup opens a backup read-only and checks that it is a Loket store
// this version can use: every bucket present, a schema version not newer
// than ours, and every ticket decodable.
func CheckBackup(path string) (BackupInfo, error) {
	info := BackupInfo{Path: path}
	st, err := os.Stat(path)
	if err != nil {
		return info, fmt.Errorf("check backup: %w", err)
	}
	info.Size = st.Size()
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return info, fmt.Errorf("check backup %s: not a readable bbolt file: %w", path, err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return fmt.Errorf("bucket %q missing: not a Loket store", bucketMeta)
		}
		info.Schema = btoi(tx.Bucket(bucketMeta).Get([]byte("schema")))
		if info.Schema == 0 || info.Schema > schemaVersion {
			return fmt.Errorf("schema version %d not usable by this Loket (%d)", info.Schema, schemaVersion)
		}
		for _, b := range allBuckets {
			if tx.Bucket(b) == nil && info.Schema >= max(1, bucketSince[string(b)]) {
				return fmt.Errorf("bucket %q missing: not a Loket store, or from a much older version", b)
			}
		}
		info.Messages = tx.Bucket(bucketMessages).Stats().KeyN
		return tx.Bucket(bucketTickets).ForEach(func(k, v []byte) error {
			var t Ticket
			if err := getJSON(tx.Bucket(bucketTickets), k, &t); err != nil {
				return fmt.Errorf("ticket %s unreadable: %w", k, err)
			}
			info.Tickets++
			return nil
		})
	})
	if err != nil {
		return info, fmt.Errorf("check backup %s: %w", path, err)
	}
	return info, nil
}

// ErrStoreInUse is returned by Restore while another process (loket serve)
// holds the store.
var ErrStoreInUse = errors.New("the store is in use (stop loket serve first)")

// Restore checks the backup at from and puts it in place of the store at
// to. The current store, if any, is kept beside it as
// to.before-restore-TIMESTAMP. It refuses while the store is in use.
func Restore(from, to string, now time.Time) (BackupInfo, string, error) {
	info, err := CheckBackup(from)
	if err != nil {
		return info, "", err
	}
	var kept string
	if _, err := os.Stat(to); err == nil {
		// Take the lock to be sure no serve runs, then release it.
		db, err := bolt.Open(to, 0o600, &bolt.Options{Timeout: time.Second})
		if errors.Is(err, berrors.ErrTimeout) {
			return info, "", ErrStoreInUse
		}
		if err != nil {
			return info, "", fmt.Errorf("restore: open current store: %w", err)
		}
		if err := db.Close(); err != nil {
			return info, "", err
		}
		kept = to + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		if err := os.Rename(to, kept); err != nil {
			return info, "", fmt.Errorf("restore: keep current store: %w", err)
		}
	}
	src, err := os.Open(from)
	if err != nil {
		return info, kept, fmt.Errorf("restore: %w", err)
	}
	defer src.Close()
	if _, err := writeFileAtomic(to, func(w io.Writer) (int64, error) { return io.Copy(w, src) }); err != nil {
		if kept != "" {
			_ = os.Rename(kept, to)
		}
		return info, "", fmt.Errorf("restore: %w", err)
	}
	return info, kept, nil
}

// RotateBackups writes a new backup named loket-YYYYMMDD-HHMMSS.db into dir
// and removes the oldest so that at most keep remain.
func (s *Store) RotateBackups(dir string, keep int, now time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("backup folder: %w", err)
	}
	path := filepath.Join(dir, "loket-"+now.UTC().Format("20060102-150405")+".db")
	if _, err := s.BackupFile(path); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return path, fmt.Errorf("list backups: %w", err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "loket-") && strings.HasSuffix(e.Name(), ".db") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for keep > 0 && len(names) > keep {
		if err := os.Remove(filepath.Join(dir, names[0])); err != nil {
			return path, fmt.Errorf("remove old backup: %w", err)
		}
		names = names[1:]
	}
	return path, nil
}
