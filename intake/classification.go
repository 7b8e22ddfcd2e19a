package intake

// Kind is what an inbound message is; every message gets exactly one.
type Kind string

const (
	KindNew       Kind = "new"
	KindFollowUp  Kind = "follow-up"
	KindAutoReply Kind = "auto-reply"
	KindBounce    Kind = "bounce"
)

// Type is the request type of a new request (DOMAIN.md).
type Type string

const (
	TypePraktijktoets          Type = "praktijktoets"
	TypeClinic                 Type = "clinic"
	TypeMaatwerkbijeenkomst    Type = "maatwerkbijeenkomst"
	TypeWerkbijeenkomst        Type = "werkbijeenkomst"
	TypeOPPBijeenkomst         Type = "opp-bijeenkomst"
	TypeTraining               Type = "training"
	TypeTweedaagse             Type = "tweedaagse"
	TypeGoedVoorbeeld          Type = "goed-voorbeeld"
	TypeOndersteuningsplanraad Type = "ondersteuningsplanraad"
	TypeInstrumentarium        Type = "instrumentarium"
	TypeOverig                 Type = "overig"
)

// Types lists every request type in the order of DOMAIN.md.
var Types = []Type{
	TypePraktijktoets, TypeClinic, TypeMaatwerkbijeenkomst, TypeWerkbijeenkomst,
	TypeOPPBijeenkomst, TypeTraining, TypeTweedaagse, TypeGoedVoorbeeld,
	TypeOndersteuningsplanraad, TypeInstrumentarium, TypeOverig,
}

// Reason is one rule that fired during classification.
type Reason struct {
	Rule   string  `json:"rule"`             // e.g. "header:auto-submitted", "type:clinic:body:clinic op maat"
	Detail string  `json:"detail,omitempty"` // what matched, e.g. the header value
	Weight float64 `json:"weight,omitempty"`
}

// Classification is the decision about one message, with its reasons.
type Classification struct {
	Kind Kind `json:"kind"`
	Type Type `json:"type,omitempty"` // set only when Kind is KindNew

	// TicketRef is the ticket reference the message names or threads to
	// (follow-ups; auto-replies and bounces about our mail), if any.
	TicketRef string `json:"ticket_ref,omitempty"`
	// ThreadMessageID is the Message-ID of ours (or a known one) that the
	// message answers, if any.
	ThreadMessageID string `json:"thread_message_id,omitempty"`

	Org   string `json:"org,omitempty"`
	Phone string `json:"phone,omitempty"`
	// Requester is who the request is for: the sender, or for a mail
	// forwarded by an assistant the original asker where the mail says so.
	Requester Address `json:"requester"`

	Confidence float64  `json:"confidence"`
	Reasons    []Reason `json:"reasons"`
	// Candidates are the request types that scored, best first, at most
	// MaxCandidates (kind new only): what the runner-up was and how close.
	Candidates []Candidate `json:"candidates,omitempty"`
}

// Candidate is a request type's total score for a new request and the
// confidence it would have as the decision.
type Candidate struct {
	Type       Type    `json:"type"`
	Score      float64 `json:"score"`
	Confidence float64 `json:"confidence"`
}

// MaxCandidates is how many candidates a Classification keeps.
const MaxCandidates = 3

// Thread answers questions about mail Loket already knows. The workflow
// implements it over its store; offline classification may use KnownIDs.
type Thread interface {
	// TicketForMessageID returns the ticket reference that the given
	// Message-ID (without angle brackets) belongs to, if Loket knows it.
	TicketForMessageID(messageID string) (ref string, ok bool)
}

// KnownIDs is a Thread over a fixed map of Message-ID to ticket reference.
type KnownIDs map[string]string

// TicketForMessageID implements Thread.
func (k KnownIDs) TicketForMessageID(id string) (string, bool) {
	ref, ok := k[id]
	return ref, ok
}
