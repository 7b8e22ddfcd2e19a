package workflow

import (
	"context"
	"log/slog"

	"github.com/poraad/loket/intake"
)

// Service connects intake to the store: it implements intake.Handler, so a
// Poller hands it every fetched message.
type Service struct {
	Store      *Store
	Classifier *intake.Classifier
	Policy     *Policy
	Log        *slog.Logger
	// Committed is called after a message was committed that queued mail
	// (the sender's Kick).
	Committed func()
	// Observed, when set, is called after every message was committed
	// (metrics: internal/app/metrics.go).
	Observed func(mailbox string, class intake.Classification, res IngestResult)
}

var _ intake.Handler = (*Service)(nil)

// Cursor implements intake.Handler.
func (s *Service) Cursor(_ context.Context, mailbox string) (intake.Cursor, error) {
	return s.Store.Cursor(mailbox)
}

// Handle implements intake.Handler: parse, classify, then commit everything
// in one transaction (Store.Ingest).
func (s *Service) Handle(ctx context.Context, f intake.Fetched) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var msg *intake.Message
	if f.HeaderOnly {
		msg = intake.ParseHeader(f.Raw, f.Size)
	} else {
		msg = intake.Parse(f.Raw)
	}
	class := s.Classify(msg, f.Mailbox)
	res, err := s.Store.Ingest(Inbound{Mailbox: f.Mailbox, UIDValidity: f.UIDValidity, UID: f.UID,
		Raw: f.Raw, Msg: msg, Class: class, HeaderOnly: f.HeaderOnly, Backlog: f.Backlog, parsedRaw: true}, s.Policy)
	if err != nil {
		return err
	}
	s.logResult(f, msg, class, res)
	if s.Observed != nil {
		s.Observed(f.Mailbox, class, res)
	}
	if (res.OutboxID != 0 || res.Queued > 0) && s.Committed != nil {
		s.Committed()
	}
	return nil
}

// Classify classifies msg as it arrived in mailbox, with the store as the
// thread index. A follow-up whose ticket is unknown here gets a request type
// too, since it will become a new ticket.
func (s *Service) Classify(msg *intake.Message, mailbox string) intake.Classification {
	prior := s.Policy.Mailboxes[mailbox].Prior
	class := s.Classifier.Classify(msg, prior, s.Store)
	if class.Kind == intake.KindFollowUp && class.Type == "" {
		known := class.ThreadMessageID != "" && s.hasThread(class.ThreadMessageID)
		if !known && (class.TicketRef == "" || !s.Store.HasTicket(class.TicketRef)) {
			typ, reasons := s.Classifier.RequestType(msg, prior)
			class.Type = typ
			class.Reasons = append(class.Reasons, reasons...)
		}
	}
	return class
}

func (s *Service) hasThread(id string) bool {
	_, ok := s.Store.TicketForMessageID(id)
	return ok
}

func (s *Service) logResult(f intake.Fetched, msg *intake.Message, class intake.Classification, res IngestResult) {
	log := s.Log
	if log == nil {
		return
	}
	attrs := []any{"mailbox", f.Mailbox, "uid", f.UID, "message_id", msg.MessageID, "kind", class.Kind}
	if class.Type != "" {
		attrs = append(attrs, "type", class.Type)
	}
	if res.TicketRef != "" {
		attrs = append(attrs, "ticket", res.TicketRef)
	}
	switch {
	case res.Skipped:
		log.Debug("message already handled", attrs...)
	case res.Duplicate:
		log.Info("duplicate message ignored", attrs...)
	case res.Unmatched:
		log.Info("message unmatched", attrs...)
	default:
		if res.NoConfirmation != "" {
			attrs = append(attrs, "no_confirmation", res.NoConfirmation)
		}
		if len(msg.Problems) > 0 {
			attrs = append(attrs, "problems", len(msg.Problems))
		}
		log.Info("message handled", attrs...)
	}
}
