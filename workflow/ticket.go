package workflow

import (
	"time"

	"github.com/poraad/loket/intake"
)

// Clock returns the current time; tests replace it.
type Clock func() time.Time

// Direction tells whether a message came in or went out.
type Direction string

const (
	DirIn  Direction = "in"
	DirOut Direction = "out"
)

// Ticket is one request and everything that happened to it.
type Ticket struct {
	Ref            string                `json:"ref"`
	Mailbox        string                `json:"mailbox"`
	MailboxAddress string                `json:"mailbox_address"`
	Type           intake.Type           `json:"type"`
	Family         Family                `json:"family"`
	State          State                 `json:"state"`
	Subject        string                `json:"subject"`
	Requester      intake.Address        `json:"requester"`
	Org            string                `json:"org,omitempty"`
	Phone          string                `json:"phone,omitempty"`
	Created        time.Time             `json:"created"`
	Updated        time.Time             `json:"updated"`
	Classification intake.Classification `json:"classification"`
	// Messages lists the ticket's messages, inbound and outbound, in the
	// order they were recorded.
	Messages []MessageRef `json:"messages"`
	Audit    []AuditEntry `json:"audit"`
	// Bounced is set when mail of ours to the requester bounced.
	Bounced bool `json:"bounced,omitempty"`
	// Flags carries notes a person should see at a glance, e.g. "refers to
	// unknown ticket PO-2026-0999" or "message over size cap".
	Flags []string `json:"flags,omitempty"`

	// Assignee is the address of the project leader who has the ticket;
	// AssigneeName their name.
	Assignee     string `json:"assignee,omitempty"`
	AssigneeName string `json:"assignee_name,omitempty"`
	// ResumeState is the state a waiting ticket returns to.
	ResumeState State `json:"resume_state,omitempty"`
	// Proposal holds the dates last offered; Suggestion what the
	// requester's answer seems to choose (never applied by itself).
	Proposal   *Proposal   `json:"proposal,omitempty"`
	Suggestion *Suggestion `json:"suggestion,omitempty"`
	// Appointment is the agreed date (appointment family).
	Appointment *Appointment `json:"appointment,omitempty"`
	// Session is the id of the session a registration is placed or
	// waitlisted in.
	Session string `json:"session,omitempty"`

	// classJSON, when not nil, is the JSON of Classification, worked out
	// before the transaction that creates the ticket (HandleBatch does so
	// in parallel) and spliced in when it is stored (putTicketFreshTx).
	// Only newTicketTx sets it; nothing changes Classification in that
	// transaction.
	classJSON []byte
}

// MessageRef is a ticket's pointer to a stored message.
type MessageRef struct {
	Seq       uint64      `json:"seq"`
	MessageID string      `json:"message_id"`
	Direction Direction   `json:"direction"`
	Kind      intake.Kind `json:"kind,omitempty"` // inbound only
	From      string      `json:"from"`
	Subject   string      `json:"subject"`
	Date      time.Time   `json:"date"`
	OutboxID  uint64      `json:"outbox_id,omitempty"` // outbound only
}

// AuditEntry records one change: who, when, what.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"` // "loket" for automatic changes, else a leader's address
	Action string    `json:"action"`
	Detail string    `json:"detail,omitempty"`
	Note   string    `json:"note,omitempty"`
}

func (t *Ticket) audit(at time.Time, actor, action, detail, note string) {
	t.Audit = append(t.Audit, AuditEntry{At: at, Actor: actor, Action: action, Detail: detail, Note: note})
	t.Updated = at
}

// MessageIDs returns the Message-IDs of every message of the ticket.
func (t *Ticket) MessageIDs() []string {
	ids := make([]string, 0, len(t.Messages))
	for _, m := range t.Messages {
		ids = append(ids, m.MessageID)
	}
	return ids
}

// MessageRecord is a stored message: parsed content and how it was handled.
// The raw bytes are kept separately (bucket raw) under the same Seq.
type MessageRecord struct {
	Seq         uint64                 `json:"seq"`
	Direction   Direction              `json:"direction"`
	Mailbox     string                 `json:"mailbox"`
	UIDValidity uint32                 `json:"uid_validity,omitempty"`
	UID         uint32                 `json:"uid,omitempty"`
	Received    time.Time              `json:"received"`
	TicketRef   string                 `json:"ticket_ref,omitempty"`
	Message     *intake.Message        `json:"message"`
	Class       *intake.Classification `json:"classification,omitempty"`
	HeaderOnly  bool                   `json:"header_only,omitempty"`
	OutboxID    uint64                 `json:"outbox_id,omitempty"`
	// Dismissed is set when a person dismissed an unmatched message.
	Dismissed bool `json:"dismissed,omitempty"`

	// Parts of an inbound record are stored once, not twice, and put back
	// by restoreTx (ingest.go) for whoever reads the whole record:
	// HTMLInRaw and TextInRaw say the HTML body and the text are left out
	// of Message and read again from the raw bytes; ClassInTicket says
	// Class is left out because it is the classification of ticket
	// TicketRef, which this message made.
	HTMLInRaw     bool `json:"html_in_raw,omitempty"`
	TextInRaw     bool `json:"text_in_raw,omitempty"`
	ClassInTicket bool `json:"class_in_ticket,omitempty"`
	// Purged is set when retention or a request to be forgotten removed
	// the message's content and raw bytes (retention.go).
	Purged bool `json:"purged,omitempty"`
}
