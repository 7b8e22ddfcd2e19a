package intake

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
)

func newTestClassifier(t testing.TB) *Classifier {
	t.Helper()
	c, err := NewClassifier(ClassifierConfig{Prefix: "PO", OwnAddresses: testOwnAddresses})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// hdr builds a Message.Header from "Key: value" pairs.
func hdr(fields ...string) map[string][]string {
	h := map[string][]string{}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, ":")
		k = canonicalKey(strings.TrimSpace(k))
		h[k] = append(h[k], strings.TrimSpace(v))
	}
	return h
}

func hasRule(cl Classification, prefix string) bool {
	for _, r := range cl.Reasons {
		if strings.HasPrefix(r.Rule, prefix) {
			return true
		}
	}
	return false
}

var person = Address{Name: "Marloes Duinkerk", Address: "m.duinkerk@swv-noordkop-po.example"}

const ackID = "ack-20260210-0044.7hq2@poraad.nl"

var testThread = KnownIDs{ackID: "PO-2026-0044"}

func TestClassifyKind(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct {
		name     string
		m        Message
		want     Kind
		wantRef  string
		wantID   string
		wantRule string
	}{
		{
			name: "multipart/report delivery-status",
			m: Message{From: Address{Address: "mailer-daemon@mx.example"}, Subject: "Undelivered Mail Returned to Sender",
				ContentType: "multipart/report", ReportType: "delivery-status"},
			want: KindBounce, wantRule: "header:content-type",
		},
		{
			name: "content-type only in the header",
			m:    Message{From: person, Subject: "x", Header: hdr("Content-Type: multipart/report; report-type=delivery-status; boundary=x")},
			want: KindBounce, wantRule: "header:content-type",
		},
		{
			name: "postmaster sender",
			m:    Message{From: Address{Address: "postmaster@swv.example"}, Subject: "Returned mail: see transcript"},
			want: KindBounce, wantRule: "from:mailer-daemon",
		},
		{
			name: "Exchange NDR subject in Dutch",
			m:    Message{From: Address{Name: "Microsoft Outlook", Address: "x@swv.example"}, Subject: "Onbestelbaar: [PO-2026-0061] Ontvangstbevestiging"},
			want: KindBounce, wantRule: "subject:bounce", wantRef: "PO-2026-0061",
		},
		{
			name: "Niet bezorgd",
			m:    Message{From: Address{Address: "x@swv.example"}, Subject: "Niet bezorgd: uw bericht"},
			want: KindBounce, wantRule: "subject:bounce",
		},
		{
			name: "Delivery Status Notification (Failure)",
			m:    Message{From: Address{Name: "Mail Delivery Subsystem", Address: "mailer-daemon@googlemail.com"}, Subject: "Delivery Status Notification (Failure)"},
			want: KindBounce, wantRule: "from:mail-delivery-name",
		},
		{
			name: "X-Failed-Recipients",
			m:    Message{From: person, Subject: "Mail", Header: hdr("X-Failed-Recipients: a@b.example")},
			want: KindBounce, wantRule: "header:x-failed-recipients",
		},
		{
			name: "bounce wins over Auto-Submitted; ticket and our Message-ID from the returned headers",
			m: Message{From: Address{Address: "mailer-daemon@mx.example"}, Subject: "Undelivered Mail Returned to Sender",
				ContentType: "multipart/report", ReportType: "delivery-status", Header: hdr("Auto-Submitted: auto-replied"),
				Forwarded: []ForwardedHeader{{MessageID: "ack-20260224-0058.e5a0@poraad.nl", Subject: "[PO-2026-0058] Ontvangstbevestiging",
					From: Address{Address: "ondersteuningpassendonderwijs@poraad.nl"}}}},
			want: KindBounce, wantRef: "PO-2026-0058", wantID: "ack-20260224-0058.e5a0@poraad.nl",
		},
		{
			name: "bounce of a known message via In-Reply-To",
			m: Message{From: Address{Address: "postmaster@swv.example"}, Subject: "Undeliverable: Ontvangstbevestiging",
				InReplyTo: []string{ackID}},
			want: KindBounce, wantRef: "PO-2026-0044", wantID: ackID,
		},

		{
			name: "Auto-Submitted auto-replied with ticket ref and In-Reply-To: never a follow-up",
			m: Message{From: person, Subject: "Afwezig: [PO-2026-0044] Ontvangstbevestiging", InReplyTo: []string{ackID},
				Header: hdr("Auto-Submitted: auto-replied", "Return-Path: <>")},
			want: KindAutoReply, wantRef: "PO-2026-0044", wantID: ackID, wantRule: "header:auto-submitted",
		},
		{
			name: "Auto-Submitted: no is a person",
			m:    Message{From: person, Subject: "Vraag", Header: hdr("Auto-Submitted: no")},
			want: KindNew,
		},
		{
			name: "X-Autoreply",
			m:    Message{From: person, Subject: "Ontvangstbevestiging", Header: hdr("X-Autoreply: yes")},
			want: KindAutoReply, wantRule: "header:x-autoreply",
		},
		{
			name: "X-Autorespond",
			m:    Message{From: person, Subject: "Ontvangstbevestiging", Header: hdr("X-Autorespond: Vacation")},
			want: KindAutoReply, wantRule: "header:x-autorespond",
		},
		{
			name: "Precedence bulk",
			m:    Message{From: person, Subject: "Nieuws", Header: hdr("Precedence: bulk")},
			want: KindAutoReply, wantRule: "header:precedence",
		},
		{
			name: "Precedence auto_reply",
			m:    Message{From: person, Subject: "Re: aanvraag", Header: hdr("Precedence: auto_reply")},
			want: KindAutoReply, wantRule: "header:precedence",
		},
		{
			name: "newsletter List-Unsubscribe",
			m:    Message{From: person, Subject: "Nieuwsbrief: clinics en praktijktoets", Header: hdr("List-Unsubscribe: <https://x.example/u>")},
			want: KindAutoReply, wantRule: "header:list-unsubscribe",
		},
		{
			name: "List-Id",
			m:    Message{From: person, Subject: "[passend] vraag", Header: hdr("List-Id: <passend.lists.example>")},
			want: KindAutoReply, wantRule: "header:list-id",
		},
		{
			name: "Automatisch antwoord subject",
			m:    Message{From: person, Subject: "Automatisch antwoord: Ontvangstbevestiging"},
			want: KindAutoReply, wantRule: "subject:auto-reply",
		},
		{
			name: "Out of Office subject",
			m:    Message{From: person, Subject: "Out of Office: [PO-2026-0044] Ontvangstbevestiging"},
			want: KindAutoReply, wantRule: "subject:auto-reply", wantRef: "PO-2026-0044",
		},
		{
			name: "Auto: subject",
			m:    Message{From: person, Subject: "Auto: Ontvangstbevestiging"},
			want: KindAutoReply, wantRule: "subject:auto-reply",
		},
		{
			name: "X-Auto-Response-Suppress with Automatic reply subject",
			m:    Message{From: person, Subject: "Automatic reply: [PO-2026-0009] Ontvangstbevestiging", Header: hdr("X-Auto-Response-Suppress: All")},
			want: KindAutoReply, wantRef: "PO-2026-0009",
		},
		{
			name: "X-Auto-Response-Suppress alone (Outlook sets it on ordinary mail)",
			m:    Message{From: person, Subject: "Aanmelding praktijktoets", Text: "Wij melden ons aan voor de praktijktoets.", Header: hdr("X-Auto-Response-Suppress: All")},
			want: KindNew,
		},
		{
			name: "X-Auto-Response-Suppress with out-of-office text",
			m: Message{From: person, Subject: "RE: [PO-2026-0071] Ontvangstbevestiging", Text: "Ik ben afwezig tot en met 3 april.",
				Header: hdr("X-Auto-Response-Suppress: All")},
			want: KindAutoReply, wantRef: "PO-2026-0071", wantRule: "body:out-of-office",
		},
		{
			name: "null Return-Path with out-of-office text",
			m:    Message{From: person, Subject: "Ontvangstbevestiging", Text: "Dank voor uw bericht. Ik ben met vakantie.", Header: hdr("Return-Path: <>")},
			want: KindAutoReply, wantRule: "header:return-path-null",
		},
		{
			name: "out-of-office text alone is a person",
			m:    Message{From: person, Subject: "Aanmelding tweedaagse", Text: "Ik meld mij aan voor de tweedaagse. Ik ben afwezig tot 3 april, bel gerust."},
			want: KindNew,
		},
		{
			name: "our own address (loop)",
			m:    Message{From: Address{Address: "ondersteuningpassendonderwijs@poraad.nl"}, Subject: "[PO-2026-0044] Ontvangstbevestiging"},
			want: KindAutoReply, wantRule: "from:own-address", wantRef: "PO-2026-0044",
		},

		{
			name: "In-Reply-To known",
			m:    Message{From: person, Subject: "Data spiegelteam", InReplyTo: []string{ackID}},
			want: KindFollowUp, wantRef: "PO-2026-0044", wantID: ackID, wantRule: "thread:known-message-id",
		},
		{
			name: "known ID only in References",
			m:    Message{From: person, Subject: "Re: Uw aanvraag", InReplyTo: []string{"x@swv.example"}, References: []string{"<" + ackID + ">", "x@swv.example"}},
			want: KindFollowUp, wantRef: "PO-2026-0044", wantID: ackID,
		},
		{
			name: "ticket ref in subject, fresh mail",
			m:    Message{From: person, Subject: "Aanvulling deelnemers OPP-bijeenkomst [PO-2026-0029]"},
			want: KindFollowUp, wantRef: "PO-2026-0029", wantRule: "subject:ticket-ref",
		},
		{
			name: "bare lower-case ticket ref",
			m:    Message{From: person, Subject: "Antw: planning po-2026-0101"},
			want: KindFollowUp, wantRef: "PO-2026-0101",
		},
		{
			name: "ticket ref of our domain's Message-ID kept as ThreadMessageID",
			m:    Message{From: person, Subject: "RE: [PO-2026-0017] Ontvangstbevestiging", InReplyTo: []string{"ack-po-2026-0017-5e2a91c4@poraad.nl"}},
			want: KindFollowUp, wantRef: "PO-2026-0017", wantID: "ack-po-2026-0017-5e2a91c4@poraad.nl",
		},
		{
			name: "Re: alone is not a follow-up",
			m:    Message{From: person, Subject: "Re: (Boven)regionale werkbijeenkomsten samenwerking met gemeenten"},
			want: KindNew, wantRule: "subject:reply-prefix-ignored",
		},
		{
			name: "FW: is not a follow-up",
			m:    Message{From: person, Subject: "FW: medicijnprotocol", InReplyTo: []string{"internal@skpo.example"}},
			want: KindNew, wantRule: "thread:unknown-message-id",
		},
		{
			name: "another prefix is not ours",
			m:    Message{From: person, Subject: "[XX-2026-0042] vraag"},
			want: KindNew,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			cl := c.Classify(&m, "", testThread)
			if cl.Kind != tt.want {
				t.Fatalf("kind %q, want %q\n%s", cl.Kind, tt.want, reasonsLine(cl))
			}
			if cl.TicketRef != tt.wantRef {
				t.Errorf("ticket ref %q, want %q", cl.TicketRef, tt.wantRef)
			}
			if tt.wantID != "" && cl.ThreadMessageID != tt.wantID {
				t.Errorf("thread message ID %q, want %q", cl.ThreadMessageID, tt.wantID)
			}
			if tt.wantRule != "" && !hasRule(cl, tt.wantRule) {
				t.Errorf("rule %q did not fire\n%s", tt.wantRule, reasonsLine(cl))
			}
			if len(cl.Reasons) == 0 {
				t.Error("no reasons")
			}
			if cl.Kind != KindNew && cl.Type != "" {
				t.Errorf("type %q set for kind %q", cl.Type, cl.Kind)
			}
		})
	}
}

func TestClassifyNilThread(t *testing.T) {
	c := newTestClassifier(t)
	cl := c.Classify(&Message{From: person, Subject: "Data spiegelteam", InReplyTo: []string{ackID}}, "", nil)
	if cl.Kind != KindNew {
		t.Errorf("kind %q without a Thread, want new", cl.Kind)
	}
	cl = c.Classify(nil, "", nil)
	if cl.Kind != KindNew || cl.Type != TypeOverig || len(cl.Reasons) == 0 {
		t.Errorf("nil message: %+v", cl)
	}
}

func TestClassifyType(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct {
		name     string
		prior    Type
		subject  string
		text     string
		want     Type
		wantRule string
	}{
		{"praktijktoets", "", "aanmelding",
			"Goedemorgen,\n\nHierbij willen wij ons aanmelden voor de praktijktoets, samen met ons partnerverband in het vo.\n\nMet vriendelijke groet,\n\nX",
			TypePraktijktoets, "intent:praktijktoets"},
		{"spiegelteam without the word praktijktoets", "", "Vraag",
			"Wij zoeken een spiegelteam dat aan de hand van casussen toetst of we klaar zijn om te starten.",
			TypePraktijktoets, ""},
		{"clinic op maat", "", "Verzoek",
			"Ons bestuur vraagt een “clinic op maat” aan over de financiële paragraaf van het ondersteuningsplan.",
			TypeClinic, "type:clinic"},
		{"clinic to the praktijktoets mailbox", TypePraktijktoets, "Vraag",
			"Een collega vertelde dat de PO-Raad zo'n clinic op maat kan verzorgen, bij ons op locatie. Kan dat nog voor de zomer?",
			TypeClinic, "prior:praktijktoets"},
		{"clinic first, praktijktoets later", TypePraktijktoets, "Vraag over een bijeenkomst",
			"Wij zouden graag een clinic aanvragen over het financiële deel van ons ondersteuningsplan.\n\n(De praktijktoets komt later in het voorjaar.)",
			TypeClinic, ""},
		{"follow-up clinic in English", "", "Follow-up session after our clinic",
			"We would now like to request a follow-up session for our secondary department at our own campus.",
			TypeClinic, ""},
		{"maatwerk governance", "", "Maatwerkbijeenkomst governance",
			"Graag vragen wij een maatwerkbijeenkomst aan voor het bestuur en de toezichthouders.",
			TypeMaatwerkbijeenkomst, ""},
		{"maatwerk in own words", "", "Bijeenkomst",
			"Wij zouden graag een bijeenkomst op maat willen over governance en intern toezicht.",
			TypeMaatwerkbijeenkomst, ""},
		{"werkbijeenkomst", "", "Aanmelding",
			"Namens de gemeente meld ik twee personen aan voor de (boven)regionale werkbijeenkomsten 'samenwerking met gemeenten en jeugdhulppartners'.",
			TypeWerkbijeenkomst, ""},
		{"opp", "", "OPP",
			"Wij willen ons graag aanmelden voor een bijeenkomst over het ontwikkelingsperspectief voor het vo.",
			TypeOPPBijeenkomst, ""},
		{"training kwartiermakers", "", "Leergemeenschap kwartiermakers",
			"Sinds 1 december ben ik kwartiermaker. Daar wil ik mij graag voor aanmelden.",
			TypeTraining, ""},
		{"tweedaagse", "", "Opgave tweedaagse directeuren (v)so",
			"Hierbij geef ik mij op voor de tweedaagse voor directeuren in het (v)so.",
			TypeTweedaagse, ""},
		{"goed voorbeeld", "", "Idee voor de nieuwsbrief",
			"Misschien iets voor jullie website of nieuwsbrief: onze Passend Onderwijs Markt.",
			TypeGoedVoorbeeld, ""},
		{"good example in English", "", "Something to share",
			"You collect good examples for the website and newsletter. We would love to share ours.",
			TypeGoedVoorbeeld, ""},
		{"OPR guidance on consent", "", "vraagje",
			"Binnenkort krijgen wij als ondersteuningsplanraad het ondersteuningsplan ter instemming. Is er iemand die ons als OPR hierbij kan begeleiden?",
			TypeOndersteuningsplanraad, "near:opr-guidance"},
		{"OPR asks for the praktijktoets", "", "Vraag van de ondersteuningsplanraad",
			"Namens de ondersteuningsplanraad (OPR) wil ik graag de praktijktoets aanvragen, voordat wij instemming geven op het ondersteuningsplan.",
			TypePraktijktoets, "adjust:opr-asks-praktijktoets"},
		{"training for OPR members is OPR", "", "Begeleiding OPR",
			"Is er een training voor OPR-leden over instemming op het ondersteuningsplan?",
			TypeOndersteuningsplanraad, "near:training-for-opr"},
		{"instrumentarium", "", "FW: medicijnprotocol",
			"Waar vind ik de modelprotocollen voor medicijngebruik op school uit het instrumentarium?",
			TypeInstrumentarium, ""},
		{"TLV objection", "", "vraag",
			"Is de handreiking over de regeling bezwaarschriften tegen de TLV al beschikbaar? En waar staat de geschillenregeling?",
			TypeInstrumentarium, ""},
		{"press is overig", "", "Interviewverzoek passend onderwijs",
			"Ik ben verslaggever en wil graag een van de projectleiders interviewen, op locatie.",
			TypeOverig, "type:overig"},
		{"nothing to go on", "", "Vraag",
			"Kunt u mij terugbellen?",
			TypeOverig, "type:overig:no-evidence"},
		{"weak evidence is below threshold", "", "Vraag over leerplicht",
			"Wat zijn de regels voor vrijstelling?",
			TypeOverig, "type:overig:below-threshold"},
		{"the mailbox decides an empty sign-up", TypePraktijktoets, "Aanmelding",
			"Hierbij melden wij ons aan.",
			TypePraktijktoets, "prior:praktijktoets"},
		{"quoted text does not count", "", "Re: Terugblik overleg",
			"Wij willen graag een clinic aanvragen.\n\nOp 25 mrt. 2026 om 09:12 heeft K <k@x.example> het volgende geschreven:\n\n> Meld je aan voor de praktijktoets, de praktijktoets, de tweedaagse en de praktijktoets.",
			TypeClinic, ""},
		{"signature does not count", "", "Aanmelding OPP-bijeenkomst",
			"Graag meld ik mij aan voor de OPP-bijeenkomst.\n\nMet vriendelijke groet,\n\nJan\nkwartiermaker praktijktoets training leergemeenschap\nSWV X",
			TypeOPPBijeenkomst, ""},
		{"mail address does not count", "", "Vraag",
			"Ik kreeg het adres praktijktoets@ondersteuningpassendonderwijs.nl door. Graag een clinic bij ons op locatie.",
			TypeClinic, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Message{From: person, Subject: tt.subject, Text: tt.text}
			cl := c.Classify(m, tt.prior, nil)
			if cl.Kind != KindNew {
				t.Fatalf("kind %q", cl.Kind)
			}
			if cl.Type != tt.want {
				t.Errorf("type %q, want %q\n%s", cl.Type, tt.want, reasonsLine(cl))
			}
			if tt.wantRule != "" && !hasRule(cl, tt.wantRule) {
				t.Errorf("rule %q did not fire\n%s", tt.wantRule, reasonsLine(cl))
			}
			if cl.Confidence < 0 || cl.Confidence > 1 {
				t.Errorf("confidence %v out of range", cl.Confidence)
			}
		})
	}
}

func TestClassifyBelowThresholdReason(t *testing.T) {
	c := newTestClassifier(t)
	cl := c.Classify(&Message{From: person, Subject: "Vraag over leerplicht", Text: "Wat zijn de regels?"}, "", nil)
	for _, r := range cl.Reasons {
		if r.Rule == "type:overig:below-threshold" {
			if !strings.Contains(r.Detail, "below threshold") || !strings.Contains(r.Detail, "werkbijeenkomst") {
				t.Errorf("detail %q", r.Detail)
			}
			return
		}
	}
	t.Errorf("no below-threshold reason: %s", reasonsLine(cl))
}

func TestClassifyForward(t *testing.T) {
	c := newTestClassifier(t)
	m := &Message{
		From:    Address{Name: "Anita Kuiperbrink", Address: "a.kuiperbrink@skpo.example"},
		Cc:      []Address{{Name: "Els Brouwer-Stam", Address: "e.brouwerstam@skpo.example"}},
		Subject: "FW: medicijnprotocol",
		Text: `Goedemorgen,

Op verzoek van onze bestuurder stuur ik onderstaande vraag door. Zij staat in de cc.

Met vriendelijke groet,

Anita Kuiperbrink
managementassistent
Stichting Katholiek Primair Onderwijs Zaanstreek
075 - 631 07 72

-----Oorspronkelijk bericht-----
Van: Els Brouwer-Stam
Verzonden: maandag 9 februari 2026 08:47
Aan: Anita Kuiperbrink <a.kuiperbrink@skpo.example>
Onderwerp: medicijnprotocol

Anita, wil jij dit even navragen? Ik las dat de PO-Raad in het instrumentarium
modelprotocollen voor medicijngebruik op school heeft gepubliceerd.

Dank je!
Els
`,
	}
	cl := c.Classify(m, "", nil)
	if cl.Kind != KindNew || cl.Type != TypeInstrumentarium {
		t.Fatalf("got %s %s\n%s", cl.Kind, cl.Type, reasonsLine(cl))
	}
	if cl.Requester.Address != "e.brouwerstam@skpo.example" || cl.Requester.Name != "Els Brouwer-Stam" {
		t.Errorf("requester %+v, want the asker found in Cc by name", cl.Requester)
	}
	if cl.Org != "Stichting Katholiek Primair Onderwijs Zaanstreek" || cl.Phone != "075 - 631 07 72" {
		t.Errorf("contact %q %q, want the forwarder's", cl.Org, cl.Phone)
	}
	if !hasRule(cl, "forward:content") || !hasRule(cl, "forward:requester") {
		t.Errorf("forward rules missing: %s", reasonsLine(cl))
	}

	// The forwarder's own address or ours is never the requester.
	m.Text = strings.Replace(m.Text, "Van: Els Brouwer-Stam", "Van: Ondersteuning <ondersteuningpassendonderwijs@poraad.nl>", 1)
	cl = c.Classify(m, "", nil)
	if cl.Requester != m.From {
		t.Errorf("requester %+v, want the sender", cl.Requester)
	}
}

func TestClassifyDeterministic(t *testing.T) {
	c := newTestClassifier(t)
	m := &Message{From: person, Subject: "praktijktoets + vraag",
		Text: "Wij willen ons graag opgeven voor de praktijktoets. Los daarvan: wanneer verschijnt de handreiking over de TLV?"}
	first := c.Classify(m, "", testThread)
	for i := 0; i < 20; i++ {
		if got := c.Classify(m, "", testThread); !reflect.DeepEqual(got, first) {
			t.Fatalf("run %d differs:\n%+v\n%+v", i, got, first)
		}
	}
}

func TestNewClassifierConfig(t *testing.T) {
	bad := []ClassifierConfig{
		{ExtraTerms: map[Type][]Term{"cursus": {{Phrase: "x", Weight: 1}}}},
		{ExtraTerms: map[Type][]Term{TypeClinic: {{Phrase: "", Weight: 1}}}},
		{ExtraTerms: map[Type][]Term{TypeClinic: {{Phrase: " *-* ", Weight: 1}}}},
		{Prefix: "P-O"},
		{Threshold: -0.1},
		{Threshold: 1.5},
	}
	for _, cfg := range bad {
		if _, err := NewClassifier(cfg); err == nil {
			t.Errorf("NewClassifier(%+v): no error", cfg)
		}
	}
	c, err := NewClassifier(ClassifierConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if c.prefix != "PO" || c.threshold != DefaultThreshold {
		t.Errorf("defaults: prefix %q threshold %v", c.prefix, c.threshold)
	}
}

func TestClassifyExtraTerms(t *testing.T) {
	m := &Message{From: person, Subject: "Teamdag", Text: "Wij willen graag een teamdag over passend onderwijs bij ons op school."}
	c := newTestClassifier(t)
	if cl := c.Classify(m, "", nil); cl.Type != TypeOverig {
		t.Fatalf("without extra terms: %s", cl.Type)
	}
	c, err := NewClassifier(ClassifierConfig{ExtraTerms: map[Type][]Term{TypeClinic: {{Phrase: "teamdag*", Weight: 3}}}})
	if err != nil {
		t.Fatal(err)
	}
	cl := c.Classify(m, "", nil)
	if cl.Type != TypeClinic || !hasRule(cl, "type:clinic:subject+lead:teamdag*") {
		t.Errorf("with extra term: %s\n%s", cl.Type, reasonsLine(cl))
	}

	// Re-weighting a default term to 0 switches it off.
	m = &Message{From: person, Subject: "Verzoek clinic", Text: "Graag een clinic."}
	c, err = NewClassifier(ClassifierConfig{ExtraTerms: map[Type][]Term{TypeClinic: {{Phrase: "CLINIC*", Weight: 0}}}})
	if err != nil {
		t.Fatal(err)
	}
	if cl := c.Classify(m, "", nil); cl.Type == TypeClinic || hasRule(cl, "type:clinic:") {
		t.Errorf("clinic* re-weighted to 0 still counts: %s", reasonsLine(cl))
	}
}

func TestClassificationSummary(t *testing.T) {
	cl := Classification{Kind: KindNew, Type: TypeClinic, Confidence: 0.724,
		Requester: Address{Name: "Saskia Tromphof", Address: "s.tromphof@swv.example"},
		Org:       "Samenwerkingsverband X", Phone: "035 – 677 20 41"}
	want := "new clinic (0.72) from Saskia Tromphof <s.tromphof@swv.example>, Samenwerkingsverband X, 035 – 677 20 41"
	if got := cl.Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	cl = Classification{Kind: KindBounce, TicketRef: "PO-2026-0036", Requester: Address{Address: "mailer-daemon@x.example"}}
	if got := cl.Summary(); got != "bounce PO-2026-0036 from mailer-daemon@x.example" {
		t.Errorf("Summary() = %q", got)
	}
}

func TestCleanSubject(t *testing.T) {
	for in, want := range map[string]string{
		"RE: FW: Aanmelding":            "Aanmelding",
		"Antw: Re: vraag":               "vraag",
		"Fwd: training kwartiermakers":  "training kwartiermakers",
		"Doorst: medicijnprotocol":      "medicijnprotocol",
		"Opgave: tweedaagse":            "Opgave: tweedaagse",
		"Aanmelding tweedaagse – (v)so": "Aanmelding tweedaagse – (v)so",
	} {
		if got := cleanSubject(in); got != want {
			t.Errorf("cleanSubject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFoldText(t *testing.T) {
	if got := foldText("Financiën – “OPR” coördinator Ĳsselmeer\u00adsoft"); got != `financien - "opr" coordinator ijsselmeersoft` {
		t.Errorf("foldText = %q", got)
	}
}

func BenchmarkClassify(b *testing.B) {
	c := newTestClassifier(b)
	m := &Message{From: person, Subject: "praktijktoets + vraag",
		Text: strings.Repeat("Wij willen ons graag opgeven voor de praktijktoets samen met het vo. ", 40)}
	for b.Loop() {
		c.Classify(m, TypePraktijktoets, testThread)
	}
}

func TestClassifyLargeText(t *testing.T) {
	c := newTestClassifier(t)
	text := "Wij melden ons aan voor de tweedaagse voor directeuren in het (v)so.\n\n" +
		strings.Repeat("> Eerder bericht over de praktijktoets, de clinic en 06-12345678.\n", 100000)
	cl := c.Classify(&Message{From: person, Subject: "Aanmelding", Text: text}, "", nil)
	if cl.Type != TypeTweedaagse || !hasRule(cl, "text:clipped") {
		t.Errorf("got %s\n%s", cl.Type, reasonsLine(cl))
	}
}

// TestClassifyContext checks the rules that weigh where a type word
// stands: told as what happened before, negated, or against the mailbox.
func TestClassifyContext(t *testing.T) {
	c := newTestClassifier(t)
	for _, tc := range []struct {
		name, subject, text string
		prior               Type
		want                Type
		detail              string // a reason detail that must occur
	}{
		{"earlier praktijktoets is context", "Vraag",
			"Vorig jaar hebben we de praktijktoets gedaan. Nu willen we graag een clinic over de financiën voor ons team.",
			"", TypeClinic, "past"},
		{"a past clinic asked again is a clinic", "Re: passend onderwijs",
			"In januari heeft u bij ons een clinic gegeven. Onze directeuren willen graag een vervolg, op een maandagmiddag.",
			"", TypeClinic, "past"},
		{"no training wanted", "Bestuurlijke bijeenkomst",
			"Wij willen een bijeenkomst voor onze directeuren-bestuurders over de rolverdeling en de meerjarenbegroting. Het moet geen training worden.",
			"", TypeMaatwerkbijeenkomst, "negated"},
		{"a good example is about what was done", "Mooi initiatief",
			"Vorig jaar hebben wij een mooi voorbeeld van samenwerking opgezet. Misschien iets voor de nieuwsbrief?",
			"", TypeGoedVoorbeeld, ""},
		{"a clinic sent to the praktijktoets address", "Vraag",
			"Kunnen jullie een keer bij ons langskomen om met het team naar ons ondersteuningsplan te kijken? Een ochtend bij ons op kantoor.",
			TypePraktijktoets, TypeClinic, "mailbox; ×0.5: no word for it, clinic has evidence"},
		{"the mailbox still decides a bare sign-up", "Aanmelding", "Wij melden ons graag aan.",
			TypePraktijktoets, TypePraktijktoets, "mailbox"},
	} {
		cl := c.Classify(&Message{From: person, Subject: tc.subject, Text: tc.text}, tc.prior, nil)
		if cl.Type != tc.want {
			t.Errorf("%s: %s, want %s\n%s", tc.name, cl.Type, tc.want, reasonsLine(cl))
			continue
		}
		if tc.detail != "" && !slices.ContainsFunc(cl.Reasons, func(r Reason) bool { return r.Detail == tc.detail }) {
			t.Errorf("%s: no reason with detail %q\n%s", tc.name, tc.detail, reasonsLine(cl))
		}
		if len(cl.Candidates) == 0 || cl.Candidates[0].Confidence != cl.Confidence || len(cl.Candidates) > MaxCandidates {
			t.Errorf("%s: candidates %+v, confidence %v", tc.name, cl.Candidates, cl.Confidence)
		}
	}
}

// foldTextRef is foldText rune by rune, the reference for its fast paths.
func foldTextRef(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteRune(r)
			continue
		}
		if f, ok := foldMap[r]; ok {
			b.WriteString(f)
			continue
		}
		lr := unicode.ToLower(r)
		if f, ok := foldMap[lr]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(lr)
	}
	return b.String()
}

func TestFoldTextMatchesReference(t *testing.T) {
	var cases []string
	for r := rune(0); r < 0x3000; r++ {
		cases = append(cases, string(r), "Ab"+string(r)+"cD", strings.Repeat("x", 9)+string(r),
			"Ab"+string(r)+"cDeFgHiJkLmNoP"+string(r)+"@[`{Z") // r in an eight-byte word
	}
	alphabet := []string{"a", "Z", "M", "0", " ", "-", "`", "\xff", "\xc3", "é", "É", "ß", "ẞ", "İ", "K", "Ⱥ", "\u00a0", "\u00ad", "’", "–", "…", "ĳ", "Ω", "日", "\ufeff"}
	r := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		var b []byte
		for range r.IntN(40) {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		want := foldTextRef(s)
		if got := foldText(s); got != want {
			t.Fatalf("foldText(%q) = %q, want %q", s, got, want)
		}
		if got := string(appendFold([]byte("x"), s)); got != "x"+want {
			t.Fatalf("appendFold(%q) = %q, want %q", s, got, want)
		}
		for _, n := range []int{0, 1, 5, 45} {
			if got := foldPrefix(s, n); !strings.HasPrefix(want, got) || len(got) < min(n, len(want)) {
				t.Fatalf("foldPrefix(%q, %d) = %q, not a prefix of %q of at least %d bytes", s, n, got, want, n)
			}
		}
	}
}

func TestPhraseIndexFirst(t *testing.T) {
	phrases := append([]string{"x", "ab", "a b", "b  c", " lead", "trail "}, autoBodyPhrases...)
	x := newPhraseIndex(phrases)
	alphabet := []string{"a", "b", "c", "x", " ", "  ", "ik ben afwezig", "met vakantie", "out of office", "on ", "lead", "trail", "afwezig", "ben ik"}
	r := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		var b []byte
		for range r.IntN(12) {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		s := string(b)
		want, wantOK := "", false
		for _, p := range phrases {
			if strings.Contains(s, p) {
				want, wantOK = p, true
				break
			}
		}
		if got, ok := x.first(s); got != want || ok != wantOK {
			t.Fatalf("first(%q) = %q, %v; want %q, %v", s, got, ok, want, wantOK)
		}
	}
}

// subjectPrefixRe is the pattern that matchSubjectPrefix matches by hand.
var subjectPrefixRe = regexp.MustCompile(`^\s*(?:\[[^\]]*\]\s*)?([a-z]{1,8})\s*(?:\[\d+\]|\(\d+\))?\s*:`)

func TestMatchSubjectPrefixMatchesRegexp(t *testing.T) {
	alphabet := []string{"re", "fwd", "a", "abcdefgh", "i", " ", "\t", "\v", "[", "]", "(", ")", "1", "23", ":", "x]", "é", "A", "\n"}
	r := rand.New(rand.NewPCG(9, 10))
	for n := range 50000 {
		var b []byte
		for range r.IntN(10) {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		s := string(b)
		if n < 3 {
			s = []string{"re: x", " [ext]  fwd[2] : y", "aw (3):"}[n]
		}
		start, end, ok := matchSubjectPrefix(s)
		m := subjectPrefixRe.FindStringSubmatchIndex(s)
		if ok != (m != nil) || ok && (start != m[2] || end != m[3]) {
			t.Fatalf("matchSubjectPrefix(%q) = %d, %d, %v; regexp %v", s, start, end, ok, m)
		}
	}
}

func TestHasASCIIDigit(t *testing.T) {
	alphabet := []string{"a", "/", ":", "0", "9", "5", "\xb0", "\xb9", "\xff", "é", "Ù", " ", "p", "y"}
	r := rand.New(rand.NewPCG(11, 12))
	for range 20000 {
		var b []byte
		for range r.IntN(24) {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		s := string(b)
		if got, want := hasASCIIDigit(s), strings.ContainsAny(s, "0123456789"); got != want {
			t.Fatalf("hasASCIIDigit(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestClassifyConcurrent classifies the test mail from several goroutines
// at once: the pooled buffers that tokens, lines and reasons live in must
// never be shared between two classifications (run with -race).
func TestClassifyConcurrent(t *testing.T) {
	c := newTestClassifier(t)
	var msgs []*Message
	for _, dir := range classifyGoldenDirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			if strings.HasSuffix(f, ".tsv") || strings.HasSuffix(f, ".golden") {
				continue
			}
			if raw, err := os.ReadFile(f); err == nil {
				msgs = append(msgs, Parse(raw))
			}
		}
	}
	if len(msgs) == 0 {
		t.Skip("no test mail")
	}
	want := make([]Classification, len(msgs))
	for i, m := range msgs {
		want[i] = c.Classify(m, TypePraktijktoets, testThread)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Go(func() {
			for k := range 3 * len(msgs) {
				i := (k*7 + g*13) % len(msgs)
				if got := c.Classify(msgs[i], TypePraktijktoets, testThread); !reflect.DeepEqual(got, want[i]) {
					errs <- fmt.Sprintf("message %d: %+v, want %+v", i, got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestMoreFieldsThanMatchesFields(t *testing.T) {
	alphabet := []string{"a", "Z", "0", " ", "  ", "\t", "\n", "\v", "\f", "\r", "\u0085", "\u00a0", "\u2003", "\u3000", "é", "\xff", "\xc2", "日"}
	r := rand.New(rand.NewPCG(11, 12))
	for range 20000 {
		var b []byte
		for range r.IntN(16) {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		s := string(b)
		for n := range 5 {
			if got, want := moreFieldsThan(s, n), len(strings.Fields(s)) > n; got != want {
				t.Fatalf("moreFieldsThan(%q, %d) = %v, want %v", s, n, got, want)
			}
		}
	}
}

func TestIsCanonicalKey(t *testing.T) {
	alphabet := []string{"a", "z", "A", "Z", "-", "0", "_", "~", " ", ":", "\t", "é", "\xff", "\x00", "\x7f", "k", "K"}
	r := rand.New(rand.NewPCG(13, 14))
	keys := []string{"", "Content-Type", "content-type", "X-Ms-Exchange-Message-Is-Ndr", "List-ID", "Auto Submitted", "auto submitted", "a-", "-a", "--A"}
	for range 50000 {
		var b []byte
		for range r.IntN(8) {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		keys = append(keys, string(b))
	}
	for _, k := range keys {
		if got, want := isCanonicalKey(k), canonicalKey(k) == k; got != want {
			t.Fatalf("isCanonicalKey(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestMessageIDsInTextMatchesRegexp(t *testing.T) {
	alphabet := []string{"Message-ID:", "message-id: ", "MESSAGE-Id:", "meſſage-id:", "X-Id:", "-id:", "<a@b>", "<x y>", "<", ">", " ", "\t", "\n", "\r\n", "\n\n", "x", ":", "Message-ID:\n <c@d>"}
	r := rand.New(rand.NewPCG(15, 16))
	for range 30000 {
		var b []byte
		for range r.IntN(14) {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		s := string(b)
		var want []string
		for _, m := range messageIDLineRe.FindAllStringSubmatch(s, 5) {
			want = append(want, m[1])
		}
		if got := messageIDsInText(s); !slices.Equal(got, want) {
			t.Fatalf("messageIDsInText(%q) = %q, want %q", s, got, want)
		}
	}
}

// emailRe is the pattern that replaceEmails matches by hand.
var emailRe = regexp.MustCompile(`[^\s<>()\[\]"',;:]+@[^\s<>()\[\]"',;:]+`)

func TestReplaceEmailsMatchesRegexp(t *testing.T) {
	alphabet := []string{"a", "jan", "@", "@@", ".", " ", "\t", "\v", "<", ">", "(", ")", "[", "]", "\"", "'", ",", ";", ":", "é", "\xff", "x@y.nl", "mailto:", "\u00a0"}
	replaced := 0
	for _, l := range testLines(alphabet, 200000) {
		want := emailRe.ReplaceAllString(l, " ")
		if got := replaceEmails(l); got != want {
			t.Errorf("replaceEmails(%q) = %q, want %q", l, got, want)
		} else if got != l {
			replaced++
		}
	}
	if replaced < 1000 {
		t.Errorf("only %d lines had an address: the test lines miss the cases", replaced)
	}
}

func TestASCIIWordEnd(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const chars = "aZz09_ .-é\xff@AzQ"
	for range 100000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = chars[r.IntN(len(chars))]
		}
		from := 0
		if len(b) > 0 {
			from = r.IntN(len(b) + 1)
		}
		want := from
		for want < len(b) && asciiClass[b[want]] == classWord {
			want++
		}
		if got := asciiWordEnd(b, from); got != want {
			t.Fatalf("asciiWordEnd(%q, %d) = %d, want %d", b, from, got, want)
		}
	}
}
