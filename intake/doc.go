// Package intake turns raw mail into values the workflow can act on.
//
// It owns three steps of a message's way from a mailbox to a ticket:
//
//   - imap.go polls a mailbox over IMAP (go-imap v2), IDLE where offered, and
//     hands each fetched message, with its UID, to a Handler (the workflow);
//     oauth.go signs it in with OAuth2 (SASL XOAUTH2) where passwords are
//     refused (Microsoft 365, Gmail), with tokens from NewTokenSource;
//   - parse.go decodes the raw RFC 5322 bytes into a Message (go-message),
//     never failing: whatever cannot be decoded is recorded in Message.Problems;
//   - classify.go decides the Kind (new, follow-up, auto-reply, bounce) and, for
//     new requests, the request Type, with the Reasons that led there, and
//     extracts the requester's organisation and phone number.
//
// intake returns values and owns no storage: it never imports bbolt. The
// workflow package stores what intake produces and decides what to send.
package intake
