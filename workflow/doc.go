// Package workflow keeps Loket's promise: every request a ticket, every ticket
// acknowledged once, nothing lost, nothing twice.
//
// A message's way through this package:
//
//   - intake's Poller hands a fetched message to Service.Handle (service.go),
//     which parses and classifies it (package intake) and calls Store.Ingest;
//   - Store.Ingest (ingest.go) commits, in ONE bbolt transaction: the raw
//     message, its parsed record, the Message-ID index entry, the new or
//     updated ticket with its audit entries and state (states.go), the
//     confirmation in the outbox (outbox.go) and the mailbox's UID cursor.
//     A crash before the commit leaves nothing; the message is fetched
//     again. A crash after it leaves everything; the cursor says "done".
//   - Sender (sender.go) delivers outbox entries over SMTP with go-mail. It
//     records each attempt before the I/O and the result after it, so a
//     crash between the SMTP server's acceptance and the record is the
//     only way a mail goes out twice, and then with the same Message-ID.
//
// store.go owns every bucket; nothing outside this package touches bbolt.
package workflow
