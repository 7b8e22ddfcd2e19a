package intake

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// batchHandler is a testHandler that also takes batches; a batch holding
// the poison UID fails as a whole.
type batchHandler struct {
	*testHandler
	poison  uint32
	batches []string
}

func (h *batchHandler) HandleBatch(ctx context.Context, fs []Fetched) error {
	h.mu.Lock()
	h.batches = append(h.batches, fmt.Sprint(uidsOf(fs)))
	h.mu.Unlock()
	for _, f := range fs {
		if f.UID == h.poison {
			return errors.New("simulated poison message")
		}
	}
	for _, f := range fs {
		if err := h.testHandler.Handle(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// TestPollerBatches checks that a BatchHandler gets the messages in
// batches in UID order, and that a failing batch is handed over one by one:
// the poison message is retried alone until it is stored, nothing skipped,
// nothing twice.
func TestPollerBatches(t *testing.T) {
	srv := startIMAP(t)
	for i := 1; i <= 7; i++ {
		if err := srv.Append("desk", "INBOX", testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	h := &batchHandler{testHandler: newTestHandler(), poison: 5}
	h.failUID, h.failLeft = 5, 2 // Handle of UID 5 fails twice, then works
	cfg := configFor(srv, "desk", "geheim")
	cfg.BatchSize = 3
	p := newTestPoller(t, cfg, h)
	run(t, p)
	got := h.waitFor(t, 7, 10*time.Second)
	if fmt.Sprint(uidsOf(got)) != "[1 2 3 4 5 6 7]" {
		t.Errorf("UIDs %v", uidsOf(got))
	}
	h.mu.Lock()
	batches := fmt.Sprint(h.batches)
	attempts5 := h.attempts[5]
	h.mu.Unlock()
	if batches[:9] != "[[1 2 3] " || attempts5 != 3 {
		t.Errorf("batches %s, Handle of UID 5 tried %d times (want 3)", batches, attempts5)
	}
	t.Logf("batches %s", batches)
	h.checkContract(t)
}
