package workflow

// ingest_slab.go cuts the values a batch's transaction stores (tickets,
// message records, summaries, their keys' copies) out of reused chunks.
// bbolt keeps a value only until its transaction commits, when it copies
// it into a page; so once the commit is done (Tx.OnCommit), the chunks go
// to the next batch instead of the garbage collector, which saves their
// allocation and zeroing and a third of what the serial commit allocated.

import (
	"sync"
	"unsafe"
)

const (
	slabChunk = 64 << 10 // bytes a chunk holds
	slabKeep  = 32       // chunks kept between batches (2 MiB)
)

// slabFree holds the chunks of committed transactions.
var slabFree struct {
	sync.Mutex
	chunks [][]byte
}

// valueSlab hands out the bytes of one transaction's values.
type valueSlab struct {
	free []byte   // the current chunk's unused tail, of length 0
	used [][]byte // the chunks taken, the current one last
}

// buf returns an empty slice with room for at least n bytes, to append a
// value to and pass to keep. Without a slab (nil) or for a value of more
// than a quarter chunk, it is a slice of its own.
func (s *valueSlab) buf(n int) []byte {
	if s == nil || n > slabChunk/4 {
		return make([]byte, 0, n)
	}
	if cap(s.free) < n {
		var c []byte
		slabFree.Lock()
		if k := len(slabFree.chunks); k > 0 {
			c, slabFree.chunks = slabFree.chunks[k-1], slabFree.chunks[:k-1]
		}
		slabFree.Unlock()
		if c == nil {
			c = make([]byte, slabChunk)
		}
		s.used = append(s.used, c)
		s.free = c[:0]
	}
	return s.free
}

// keep takes the bytes of b, made by appending to what buf returned, out
// of the chunk (unless the appending outgrew it and b is a slice of its
// own) and returns b without room to append to, so that no value can
// reach into the next.
func (s *valueSlab) keep(b []byte) []byte {
	if s != nil && len(b) > 0 && unsafe.SliceData(b) == unsafe.SliceData(s.free) {
		s.free = s.free[len(b):len(b)]
	}
	return b[:len(b):len(b)]
}

// release gives the chunks for other transactions to use: call it only
// after the transaction that stored their values committed.
func (s *valueSlab) release() {
	slabFree.Lock()
	for _, c := range s.used {
		if len(slabFree.chunks) < slabKeep {
			slabFree.chunks = append(slabFree.chunks, c)
		}
	}
	slabFree.Unlock()
	s.used, s.free = nil, nil
}
