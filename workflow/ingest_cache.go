package workflow

// ingest_cache.go keeps, for the transaction of one IngestBatch, what
// every message of it would otherwise look up again: the buckets a new
// ticket writes, cursors to read two of them, the ticket counter, and
// the slab its values are cut from (ingest_slab.go). Everything is still
// written in that transaction (the counter by cursorCache.putTx, before
// it commits).

import (
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// txCacheKey is the entry of a cursorCache that holds its ingestCache: no
// mailbox is named with a NUL byte.
const txCacheKey = "\x00"

// ingestCache holds the buckets ingestCachedTx writes, looked up once per
// transaction (a lookup is a map access by string on every call), and,
// in a batch, the counters it advanced, stored once by flushTx.
type ingestCache struct {
	messages, raw, tickets, index, words, log, counters *bolt.Bucket
	ids                                                 messageIDs // message_ids.go
	// A cursor of index, for get.
	indexCursor *bolt.Cursor
	// counted holds the counters read and advanced in this transaction,
	// nil when each is read and stored at once (a single Ingest).
	counted map[string]uint64
	// slab holds the values the transaction stores, in a batch (nil: each
	// is allocated on its own).
	slab *valueSlab
	// year and yearKey: the last year's ticket counter (ticketCounter).
	year    int
	yearKey string
}

// ticketCounter is the key of the ticket counter of year.
func (ic *ingestCache) ticketCounter(year int) string {
	if ic.yearKey == "" || ic.year != year {
		ic.year, ic.yearKey = year, "ticket/"+strconv.Itoa(year)
	}
	return ic.yearKey
}

func newIngestCache(tx *bolt.Tx) *ingestCache {
	return &ingestCache{
		messages: tx.Bucket(bucketMessages), raw: tx.Bucket(bucketRaw), ids: messageIDsOf(tx),
		tickets: tx.Bucket(bucketTickets), index: tx.Bucket(bucketTicketIndex), words: tx.Bucket(bucketTicketWords),
		log: tx.Bucket(bucketIndexLog), counters: tx.Bucket(bucketCounters),
	}
}

// ingest returns the transaction's ingestCache, made at the first call;
// for a nil cursorCache (nothing is kept between messages) a new one that
// stores each counter at once.
func (cc cursorCache) ingest(tx *bolt.Tx) *ingestCache {
	if cc == nil {
		return newIngestCache(tx)
	}
	if c := cc[txCacheKey]; c != nil {
		return c.ic
	}
	ic := newIngestCache(tx)
	ic.counted = map[string]uint64{}
	ic.slab = new(valueSlab)
	tx.OnCommit(ic.slab.release) // bbolt has copied the values into its pages
	cc[txCacheKey] = &cachedCursor{ic: ic}
	return ic
}

// nextCounter is nextCounterTx, the value kept until flushTx in a batch.
func (ic *ingestCache) nextCounter(tx *bolt.Tx, key string) (uint64, error) {
	if ic.counted == nil {
		return nextCounterTx(tx, key)
	}
	n, ok := ic.counted[key]
	if !ok {
		n = btoi(ic.counters.Get([]byte(key)))
	}
	n++
	ic.counted[key] = n
	return n, nil
}

// flushTx stores the counters advanced since the last flush.
func (ic *ingestCache) flushTx() error {
	for key, n := range ic.counted {
		if err := ic.counters.Put([]byte(key), itob(n)); err != nil {
			return fmt.Errorf("counter %s: %w", key, err)
		}
	}
	clear(ic.counted)
	return nil
}
