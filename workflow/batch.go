package workflow

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// IngestBatch stores many inbound messages in one transaction, each exactly
// as Ingest would: for imports of an archive and for generating large
// stores in benchmarks. Either all of them are committed or none.
func (s *Store) IngestBatch(ins []Inbound, p *Policy) ([]IngestResult, error) {
	out := make([]IngestResult, len(ins))
	err := s.db.Update(func(tx *bolt.Tx) error {
		cc := cursorCache{}
		for i, in := range ins {
			if in.Msg == nil {
				return fmt.Errorf("message %d: %w", i, errors.New("no parsed message"))
			}
			out[i] = IngestResult{}
			if err := ingestCachedTx(tx, in, p, &out[i], cc); err != nil {
				return fmt.Errorf("message %d <%s>: %w", i, in.Msg.MessageID, err)
			}
		}
		return cc.putTx(tx)
	})
	if err != nil {
		return nil, fmt.Errorf("ingest batch: %w", err)
	}
	return out, nil
}
