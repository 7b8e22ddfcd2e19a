package intake

import (
	"net/textproto"
	"time"
)

// Address is a decoded mail address with its display name.
type Address struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"` // lower-cased addr-spec
}

// Attachment describes one attachment of a message. The content is not kept
// in memory: it can be extracted again from the raw message with
// ExtractAttachment using Index.
type Attachment struct {
	Index       int    `json:"index"`        // position among the message's attachments, from 0
	Filename    string `json:"filename"`     // decoded file name; generated when absent
	ContentType string `json:"content_type"` // media type, lower case, without parameters
	Size        int64  `json:"size"`         // decoded size in bytes
	Inline      bool   `json:"inline,omitempty"`
}

// Message is a parsed inbound message. Every field is decoded to UTF-8.
type Message struct {
	MessageID  string    `json:"message_id"` // without angle brackets; synthesised from a hash when absent
	InReplyTo  []string  `json:"in_reply_to,omitempty"`
	References []string  `json:"references,omitempty"`
	Subject    string    `json:"subject"`
	From       Address   `json:"from"`
	ReplyTo    []Address `json:"reply_to,omitempty"`
	To         []Address `json:"to,omitempty"`
	Cc         []Address `json:"cc,omitempty"`
	Date       time.Time `json:"date"`

	// Header holds the top-level header fields that classification looks at
	// (canonical key -> values), e.g. Auto-Submitted, Precedence, List-Id,
	// Return-Path, X-Autoreply, X-Auto-Response-Suppress, Content-Type.
	Header map[string][]string `json:"header,omitempty"`

	Text        string       `json:"text"`           // text/plain body, else text derived from HTML
	HTML        string       `json:"html,omitempty"` // the HTML body as sent, for display after sanitising
	Attachments []Attachment `json:"attachments,omitempty"`

	// ContentType is the media type of the top-level part, e.g.
	// "multipart/report"; ReportType is its report-type parameter.
	ContentType string `json:"content_type"`
	ReportType  string `json:"report_type,omitempty"`

	// Forwarded holds the headers of message/rfc822 parts (forwards, the
	// returned message of a bounce), outermost first.
	Forwarded []ForwardedHeader `json:"forwarded,omitempty"`

	Size int64 `json:"size"` // raw size in bytes

	// Problems lists what could not be decoded cleanly. A message with
	// problems is still a message: it is stored and shown to a person.
	Problems []string `json:"problems,omitempty"`
	// Unparsed is true when not even the header could be read; the raw
	// bytes are all there is.
	Unparsed bool `json:"unparsed,omitempty"`
}

// ForwardedHeader is the header of an attached message/rfc822 or
// text/rfc822-headers part.
type ForwardedHeader struct {
	MessageID string   `json:"message_id,omitempty"`
	Subject   string   `json:"subject,omitempty"`
	From      Address  `json:"from"`
	InReplyTo []string `json:"in_reply_to,omitempty"`
}

// HeaderValue returns the first value of the named header field, or "".
func (m *Message) HeaderValue(key string) string {
	if m == nil || m.Header == nil {
		return ""
	}
	if v := m.Header[canonicalKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func canonicalKey(k string) string { return textproto.CanonicalMIMEHeaderKey(k) }
