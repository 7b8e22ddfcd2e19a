package workflow

// message_ids.go owns the Message-ID index, bucketMessageIDs and
// bucketMessageIDsRecent: Message-ID -> the message's seq, for dedupe and
// threading.
//
// Real Message-IDs are random strings ("CAF8x…@mail.gmail.com",
// "AM9PR07MB…@…outlook.com"), so the messages of one commit land on leaf
// pages all over a tree keyed by them, and bbolt writes every leaf page a
// transaction touched in whole (16 KB). In one tree of every Message-ID, a
// commit of 256 messages rewrote about 160 of its pages at 50 000
// messages, some 11 KB a message on top of the 10 KB the message itself
// takes, and more the bigger the store: the intake slowed with the size
// of the store.
//
// So a new Message-ID goes into a small second tree, bucketMessageIDsRecent,
// of which a commit rewrites only the few pages it has. When that holds
// more than mergeAt(n) IDs (n the IDs in the main tree), the transaction
// that passes the mark moves them, in key order, into bucketMessageIDs, and
// so rewrites each page of it at most once for all of them. mergeAt grows
// as the square root of n, which balances the two costs: 1.8 KB of pages
// a message at 50 000 messages (TestMessageIDsWritesStayFlat).
//
// A lookup reads the recent tree, then the main one. Both are changed only
// inside the transaction that stores the message, the merge included, so a
// crash leaves either the whole move or none of it. The number of IDs put
// into each tree is its bucket's sequence (an ID stored again counts
// twice).

import (
	"bytes"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"
)

// messageIDs is the Message-ID index as one transaction sees it.
type messageIDs struct {
	tx           *bolt.Tx
	main, recent *bolt.Bucket
	// Cursors for get, made at the first lookup: Bucket.Get makes a new
	// cursor whose stack grows anew, an allocation per level of the tree.
	mainC, recentC *bolt.Cursor
}

func messageIDsOf(tx *bolt.Tx) messageIDs {
	return messageIDs{tx: tx, main: tx.Bucket(bucketMessageIDs), recent: tx.Bucket(bucketMessageIDsRecent)}
}

// fresh makes m use the transaction's recent tree: another view of the
// same transaction (ingest and the confirmation it queues each have one)
// may have merged, which replaces the bucket, and a bucket or cursor of
// the replaced one must not be used again.
func (m *messageIDs) fresh() {
	if b := m.tx.Bucket(bucketMessageIDsRecent); b != m.recent {
		m.recent, m.recentC = b, nil
	}
}

// get returns the seq (8 bytes) stored for the Message-ID id, or nil.
func (m *messageIDs) get(id []byte) []byte {
	m.fresh()
	if v := seekExact(m.recent, &m.recentC, id); v != nil {
		return v
	}
	return seekExact(m.main, &m.mainC, id)
}

// seekExact is b.Get(key) through *c, a cursor of b made at the first
// call. A cursor's Seek starts from the bucket's root, so writes in between
// do not matter.
func seekExact(b *bolt.Bucket, c **bolt.Cursor, key []byte) []byte {
	if *c == nil {
		*c = b.Cursor()
	}
	k, v := (*c).Seek(key)
	if !bytes.Equal(k, key) {
		return nil
	}
	return v
}

// put stores id -> seq in the recent tree, and merges the recent tree
// into the main one when it has grown past mergeAt. seq must stay valid
// until the transaction commits (bbolt keeps values, not copies). An ID
// stored again shadows its older entry, as a lookup reads the recent
// tree first, and replaces it at the merge; it is counted twice, which
// only brings its merge a little forward.
func (m *messageIDs) put(id, seq []byte) error {
	m.fresh()
	if err := m.recent.Put(id, seq); err != nil {
		return err
	}
	n := m.recent.Sequence() + 1
	if err := m.recent.SetSequence(n); err != nil {
		return err
	}
	if n >= mergeAt(m.main.Sequence()) {
		return m.merge()
	}
	return nil
}

// mergeAt is how many IDs the recent tree may hold beside n in the main
// tree before they are merged: 16·√n, at least 1 024. A commit rewrites
// about as many recent pages as the recent tree has (√n), and a merge
// rewrites the main tree's pages (n) once per mergeAt IDs (√n a message).
func mergeAt(n uint64) uint64 {
	return max(1024, uint64(16*math.Sqrt(float64(n))))
}

// merge moves every ID of the recent tree into the main one, in key
// order, and empties the recent tree.
func (m *messageIDs) merge() error {
	if err := m.main.SetSequence(m.main.Sequence() + m.recent.Sequence()); err != nil {
		return err
	}
	c := m.recent.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		// k and v point into the recent tree's pages, which stay mapped
		// until the transaction ends; deleting the bucket only frees them
		// for a later one.
		if err := m.main.Put(k, v); err != nil {
			return fmt.Errorf("merge Message-ID %q: %w", k, err)
		}
	}
	if err := m.tx.DeleteBucket(bucketMessageIDsRecent); err != nil {
		return fmt.Errorf("merge Message-IDs: empty the recent ones: %w", err)
	}
	b, err := m.tx.CreateBucket(bucketMessageIDsRecent)
	if err != nil {
		return fmt.Errorf("merge Message-IDs: %w", err)
	}
	m.recent, m.recentC = b, nil
	return nil
}

// upgradeMessageIDsTx counts the IDs of a store from before the recent
// tree (schema 1) into the main tree's sequence.
func upgradeMessageIDsTx(tx *bolt.Tx) error {
	b := tx.Bucket(bucketMessageIDs)
	return b.SetSequence(uint64(b.Stats().KeyN))
}
