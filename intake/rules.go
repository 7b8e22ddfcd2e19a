package intake

// The rules of the classifier, as data. Everything the classifier knows
// about Dutch helpdesk mail is in this file: which header fields and
// subjects mark a bounce or an automatic reply, and which words and phrases
// point at which request type, with what weight. classify.go applies them;
// operators add and re-weight terms in the configuration (ExtraTerms)
// without touching code.
//
// Phrase syntax: words separated by spaces, matched against the text after
// lower-casing, folding diacritics ("financiën" = "financien") and treating
// every run of punctuation and white space as one word break, so
// "samenwerking met gemeenten" also matches across a line break and "(v)so"
// is the two words "v so". A '*' at the end of a word matches any word that
// starts with it ("kwartiermaker*" matches "kwartiermakers" and
// "kwartiermakersfase"), at the start any word that ends with it
// ("*casussen" matches "leerlingcasussen"), at both ends any word that
// contains it.

// Weights of where a term is found. A term counts once per zone; the
// subject says most about what the sender wants, the first paragraph of the
// body a bit more than the rest.
const (
	subjectFactor = 2.0
	leadFactor    = 1.5
	bodyFactor    = 1.0

	// priorBonus is added to the mailbox's likely type (the praktijktoets
	// mailbox receives praktijktoets sign-ups). It decides a mail without
	// other evidence but loses to a clear request for something else.
	priorBonus = 3.0

	// intentBonus is added once to a type when an intent phrase
	// ("aanmelden voor", "graag een clinic aanvragen") has one of its type
	// words (weight >= intentMinWeight) as the nearest type word in the
	// same clause, within intentWindow words.
	intentBonus     = 2.5
	intentMinWeight = 2.0
	intentWindow    = 12 // words either side, within the clause

	// deferFactor scales a term whose every occurrence in a zone stands in
	// a clause that puts it off or talks about the address rather than the
	// request ("de praktijktoets komt later", "is dit adres alleen voor de
	// praktijktoets?").
	deferFactor = 0.5

	// pastFactor scales a term whose occurrences stand in a clause that
	// tells what happened before ("vorig jaar hebben jullie bij ons een
	// clinic gegeven"): context, not the request. negationFactor scales
	// one that is negated ("het moet geen training worden").
	pastFactor     = 0.3
	negationFactor = 0.2

	// priorContraFactor scales the mailbox's bonus when the text has no
	// word for the mailbox's type and another type scores at least
	// priorBonus: a clinic request sent to the praktijktoets address is
	// a clinic.
	priorContraFactor = 0.5

	// evidenceHalf is the score at which the evidence part of the
	// confidence is one half: one strong word in the body is weak
	// evidence, the same word in subject and body with an intent is strong.
	evidenceHalf = 4.0

	// DefaultThreshold is the confidence below which a new request gets
	// type overig (manual triage) when ClassifierConfig.Threshold is 0.
	// With evidenceHalf 4 a single supporting word (score 2, e.g.
	// "leerplicht" in the subject) stays below it (0.33), a sign-up with
	// only the mailbox to go on (priorBonus) passes (0.43), and so does a
	// winner with twice the runner-up's score on moderate evidence. The
	// lowest correct confidence on the sample corpus is 0.47.
	DefaultThreshold = 0.35
)

// defaultTerms is the vocabulary per request type (DOMAIN.md and the seed
// page), Dutch with its inflections and compounds, and the English that
// international schools write. Weights: 4 names the offering itself, 3 is
// nearly as specific, 2 points clearly at the type, 1 and below is
// supporting context that also occurs in other requests.
var defaultTerms = map[Type][]Term{
	TypePraktijktoets: {
		{"praktijktoets*", 4}, {"praktijk toets", 3}, {"practice test", 3},
		{"spiegelteam*", 3.5}, {"mirror team", 3},
		{"*casussen", 1.5}, {"*casus", 1}, {"casuistiek", 1}, {"case studies", 1},
		{"sleutelfigu*", 2}, {"leerlingniveau", 1},
		{"toetst of we klaar zijn", 3}, {"klaar zijn om", 2}, {"klaar is om", 2},
		{"klaar zijn voor passend onderwijs", 1},
		{"onafhankelijke blik", 1.5}, {"onafhankelijke feedback", 1.5},
		{"leerinstrument", 1}, {"toetsinstrument", 1},
		{"partnerverband", 1}, {"partner verband", 1},
		{"spiegelgesprek*", 2.5}, {"visitatie*", 1.5}, {"peer review", 1.5},
		{"casusbespreking*", 1}, {"leerlingdossiers", 1}, {"zijn we er klaar voor", 2},
	},
	TypeClinic: {
		{"clinic*", 4}, {"clinic op maat", 2}, {"clinics op maat", 2},
		{"vervolgclinic*", 4}, {"follow up clinic", 2}, {"vervolg clinic", 2},
		{"vervolg op de clinic", 1}, {"tweede clinic", 1},
		{"follow up session", 1.5}, {"vervolgsessie", 1.5},
		{"workshop*", 1.5}, {"studiemiddag*", 1.5}, {"studiedag*", 1}, {"scholingsmiddag*", 1.5},
		{"op locatie", 1}, {"bij ons langskomen", 2}, {"bij ons op locatie", 1},
		{"bij ons op kantoor", 1}, {"bij ons op het kantoor", 1}, {"bij ons komen", 1.5}, {"naar ons toe komen", 1.5},
		{"bij ons op school", 1}, {"iemand van jullie", 1}, {"dagdeel", 1}, {"*dagmiddag", 0.5}, {"*dagochtend", 0.5}, {"bij ons in de regio", 1}, {"op onze eigen locatie", 1}, {"own campus", 1},
		{"doelgroep", 1}, {"target group", 1}, {"onderwerp naar keuze", 1.5},
		{"financiele paragraaf", 0.5}, {"financiele deel", 0.5}, {"financiele onderdelen", 0.5},
		{"langskomen", 1}, {"langs komen", 1}, {"langs te komen", 1}, {"op bezoek komen", 1}, {"komen vertellen", 1},
		{"teambijeenkomst*", 1}, {"scholingsdag*", 1}, {"studieochtend*", 1.5},
		{"presentatie*", 0.5}, {"onderwerp naar wens", 1.5}, {"eigen locatie", 1}, {"visit our", 1},
		{"verzorgen", 1}, {"middag voor", 1}, {"ochtend voor", 1}, {"session for our", 1.5},
	},
	TypeMaatwerkbijeenkomst: {
		{"maatwerk*", 4}, {"bijeenkomst op maat", 3}, {"bijeenkomsten op maat", 3},
		{"sessie op maat", 2}, {"tailored", 2}, {"tailor made", 2},
		{"governance", 2.5}, {"*toezicht", 2}, {"toezichthouder*", 2}, {"raad van toezicht", 1},
		{"rvt", 1.5}, {"supervisory board", 2}, {"bestuursmodel*", 2}, {"bestuursstructuur", 2},
		{"algemeen bestuur", 1}, {"onafhankelijk bestuurder", 1}, {"onafhankelijk voorzitter", 1},
		{"bestuursleden", 1},
		{"financien", 0.75}, {"financiele", 0.75}, {"financiele verantwoording", 1},
		{"begroting", 0.75}, {"meerjarenbegroting", 1}, {"meerjarenraming", 1}, {"reserves", 0.75},
		{"op maat gemaakt*", 1.5}, {"toegesneden op", 1.5}, {"afgestemd op onze", 1},
		{"bestuurlijk*", 1}, {"interne toezicht", 1}, {"scheiding van bestuur en toezicht", 2},
		{"code goed bestuur", 1.5}, {"financieel beleid", 1}, {"middelenverdeling", 1}, {"bekostiging", 0.75},
		{"rolverdeling", 1.5}, {"verantwoording", 1}, {"directeur bestuurder*", 1.5}, {"directeuren bestuurders", 1.5},
		{"bestuurders", 1}, {"schoolbesturen", 0.75}, {"gespreksleider", 1}, {"middelen", 0.5},
	},
	TypeWerkbijeenkomst: {
		{"werkbijeenkomst*", 4}, {"working meeting*", 3},
		{"samenwerking met gemeenten", 3}, {"samenwerking met de gemeente*", 2},
		{"jeugdhulppartner*", 3}, {"jeugdhulp", 1.5}, {"jeugdzorg", 1.5}, {"youth care", 1.5},
		{"transitiebureau", 1}, {"decentralisatie*", 1},
		{"boven regionale", 2}, {"bovenregionale", 2}, {"regionale bijeenkomst*", 1.5},
		{"wethouder*", 1}, {"leerplicht*", 1}, {"leerlingenvervoer", 1.5}, {"onderwijshuisvesting", 1.5},
		{"jeugdteam*", 1}, {"wijkteam*", 1}, {"gemeente", 0.5}, {"gemeenten", 0.5},
		{"municipalit*", 1}, {"vng", 1},
		{"signaleren en arrangeren", 1.5}, {"budgetten te bundelen", 1}, {"bundeling van budgetten", 1},
		{"oogo", 2.5}, {"op overeenstemming gericht overleg", 3}, {"sociaal domein", 1.5},
		{"jeugdhulpaanbieder*", 2}, {"zorgaanbieder*", 1}, {"jeugdwet", 1.5},
		{"onderwijs zorg", 1}, {"onderwijszorg*", 1}, {"gemeentelijk*", 1}, {"beleidsmedewerker jeugd", 1.5},
		{"regiobijeenkomst*", 2}, {"werkconferentie*", 2.5}, {"working conference", 2.5}, {"work meeting*", 2.5},
		{"collaboration with municipalit*", 3}, {"onderwijs en jeugdhulp", 1.5},
	},
	TypeOPPBijeenkomst: {
		{"opp", 3}, {"opps", 3}, {"ontwikkelingsperspectie*", 3.5}, {"development perspective*", 3},
		{"opp bijeenkomst*", 2}, {"bijeenkomst opp", 1}, {"bijeenkomst over het opp", 1},
		{"handelingsdeel", 1.5}, {"uitstroomprofiel*", 1.5},
		{"ontwikkelperspectie*", 3.5}, {"groeidocument*", 2}, {"perspectiefplan*", 2},
		{"uitstroombestemming*", 1}, {"evaluatie van het opp", 1},
	},
	TypeTraining: {
		{"training*", 2.5}, {"leergemeenschap*", 3.5}, {"learning community", 3},
		{"kwartiermaker*", 3}, {"noabers", 3},
		{"directeuren van samenwerkingsverbanden", 1.5}, {"directeuren samenwerkingsverbanden", 1.5},
		{"leernetwerk*", 2}, {"intervisie*", 1.5}, {"leergroep*", 2}, {"begonnen als directeur", 1.5}, {"cursus*", 1.5}, {"in oprichting", 1},
		{"leertraject*", 2}, {"masterclass*", 2}, {"opleiding*", 1}, {"webinar*", 1}, {"e learning", 1},
		{"online leeromgeving", 1.5}, {"startende directeur*", 1.5}, {"nieuwe directeur*", 1}, {"beginnende directeur*", 1.5},
	},
	TypeTweedaagse: {
		{"tweedaags*", 4}, {"twee daagse", 4}, {"2 daagse", 4}, {"two day", 3},
		{"v so", 2}, {"vso", 1}, {"so vso", 1}, {"speciaal onderwijs", 1},
		{"directeuren in het v so", 2}, {"overnacht*", 1.5},
		{"twee dagen", 2}, {"2 dagen", 2}, {"two days", 2}, {"hotel", 1},
	},
	TypeGoedVoorbeeld: {
		{"goed voorbeeld", 3}, {"goede voorbeelden", 3}, {"mooi voorbeeld", 2.5},
		{"inspirerend voorbeeld", 2.5}, {"good example*", 3}, {"best practice*", 2.5},
		{"nieuwsbrief", 2.5}, {"newsletter", 2.5},
		{"voor de website", 1.5}, {"voor jullie website", 1.5}, {"voor uw website", 1.5},
		{"website", 0.5}, {"publiceren", 1.5}, {"publish*", 1.5},
		{"delen met collega s", 3}, {"iets te delen", 2.5}, {"willen delen", 2},
		{"to share", 1.5}, {"share", 1.5}, {"uitwisseling", 1},
		{"foto s", 1}, {"photos", 1}, {"verslag", 0.5}, {"idee", 1}, {"ideeen", 1},
		{"praktijkvoorbeeld*", 3}, {"succesverha*", 2.5}, {"trots op", 1.5}, {"inspiratie", 1},
		{"delen", 1}, {"blog*", 1.5}, {"aanleveren", 1}, {"filmpje*", 1}, {"video", 1},
		{"mooie aanpak", 2}, {"mooi initiatief", 2}, {"initiatief", 1}, {"good practice*", 2.5},
		{"aandacht aan besteden", 1.5}, {"andere regio s", 1}, {"anderen inspireren", 2}, {"ter inspiratie", 1.5},
	},
	TypeOndersteuningsplanraad: {
		{"ondersteuningsplanraad*", 2}, {"opr", 2}, {"opr leden", 1},
		{"instemming*", 2}, {"instemmen", 2}, {"in te stemmen", 2}, {"ter instemming", 1},
		{"medezeggenschap*", 2.5}, {"steunpunt medezeggenschap", 3},
		{"mr", 1.5}, {"gmr", 1.5}, {"schoolondersteuningsprofiel*", 2.5},
		{"ouderlid", 1}, {"personeelsgeleding", 1}, {"oudergeleding", 1},
		{"consent", 1.5}, {"participation council", 2}, {"begeleiding", 1},
		{"sop", 1.5}, {"adviesrecht", 1.5}, {"wet medezeggenschap", 2}, {"wms", 1.5},
		{"opr lid", 1}, {"ouders en personeel", 1},
	},
	TypeInstrumentarium: {
		{"instrumentarium", 3.5}, {"toolbox", 3}, {"handreiking*", 2.5},
		{"model ondersteuningsplan", 3}, {"modelondersteuningsplan", 3},
		{"modelprotocol*", 3}, {"*protocol*", 1.5}, {"medicijn*", 2.5}, {"medicatie*", 2},
		{"medisch handelen", 2}, {"geschillenregeling*", 3}, {"geschillencommissie*", 2},
		{"bezwaarschrift*", 2.5}, {"bezwaar*", 1.5}, {"tlv", 1.5}, {"tlvs", 1.5},
		{"toelaatbaarheidsverklaring*", 1.5}, {"awbz*", 3},
		{"tri partiete akkoord", 3}, {"tripartiete akkoord", 3}, {"tripartite agreement", 3},
		{"modeldocument*", 2}, {"voorbeeldregeling*", 2},
		{"voorbeeld ondersteuningsplan", 2.5}, {"sjabloon*", 1.5}, {"template*", 1.5}, {"format", 1},
		{"downloaden", 1}, {"waar vind ik", 1.5}, {"kan ik vinden", 1}, {"samenwerkingsovereenkomst*", 1},
		{"toolkit", 3}, {"model support plan", 3}, {"guideline*", 1.5},
	},
	// Requests that are genuine but fit no offering: press, research,
	// applications, suppliers. Scored like a type so that "overig" can win
	// on evidence and not only for lack of it.
	TypeOverig: {
		{"interview*", 4}, {"verslaggever*", 3}, {"journalist*", 3}, {"reporter", 3},
		{"persvoorlicht*", 3}, {"redacteur*", 2}, {"redactie", 1.5}, {"pers", 2}, {"press", 2},
		{"artikel", 1.5}, {"artikelen", 1.5},
		{"afstudeer*", 3}, {"scriptie*", 3}, {"enquete*", 2}, {"vragenlijst*", 1.5},
		{"vacature*", 3}, {"sollicit*", 3}, {"offerte*", 2}, {"factuur*", 2},
		{"stage*", 2}, {"stagiair*", 2}, {"student*", 1.5}, {"onderzoek*", 1},
		{"klacht*", 2}, {"uitschrijven", 2}, {"afmelden voor de nieuwsbrief", 3},
		{"spreker", 1.5}, {"congres*", 1}, {"ons aanbod", 1.5}, {"demonstratie", 1},
	},
}

// intentPhrases mark that the sender asks for or signs up to something; a
// type word in the same clause gets intentBonus. Dutch separable verbs
// ("meld ik ons graag aan") are caught by their stem.
var intentPhrases = []string{
	"aanvragen", "aanvraag", "aan te vragen", "vragen wij", "vraag ik",
	"aanmelden", "aanmelding", "aan te melden", "meld", "meldt", "melden",
	"opgeven", "opgave", "geef", "inschrijv*", "schrijf", "deelnemen", "deelname",
	"graag", "verzoek", "request*", "sign up", "register*", "would like", "would love",
	"belangstelling voor", "interesse in", "enrol*", "enroll*", "inschrijven",
	"reserveren", "plek", "plaatsen", "langskomen",
	"kunnen jullie", "zouden jullie", "willen jullie", "kunt u", "zou u", "could you", "would you",
}

// deferPhrases put a request off or talk about the address instead of the
// request; a term in such a clause counts for deferFactor.
var deferPhrases = []string{
	"later", "tzt", "t z t", "te zijner tijd", "overwegen", "overweg*",
	"*adres", "volgend jaar", "volgend schooljaar", "in de toekomst",
}

// pastPhrases mark a clause that tells what happened before. Dutch past
// participles and past tenses that requesters use for earlier contact
// with the programme, and English ones. A clause that also holds an
// intent phrase asks for something and is not past.
var pastPhrases = []string{
	"afgelopen", "vorig", "vorige", "eerder", "destijds", "onlangs", "nogmaals dank",
	"meegedaan", "deelgenomen", "gevolgd", "gegeven", "verzorgd", "gehouden", "gezeten", "gehad",
	"geweest", "bezocht", "afgerond", "plaatsgevonden", "gevonden",
	"waren", "kwam", "kwamen", "deden", "hielden",
	"last year", "last month", "attended", "took part",
}

// pastExempt are the types whose requests are about what was done: a good
// example is shared after the fact.
var pastExempt = []Type{TypeGoedVoorbeeld}

// negationWords negate the term right after them ("geen training").
var negationWords = []string{"geen", "niet", "no", "not"}

// nearRule adds Weight to Type once when a word of A and a word of B occur
// within Window words of each other in the same zone.
type nearRule struct {
	Name   string
	Type   Type
	A, B   []string
	Window int
	Weight float64
}

// nearRules disambiguate types that share words.
var nearRules = []nearRule{
	// A follow-up to a clinic is a clinic ("graag een vervolg op de
	// clinic van vorig jaar").
	{
		Name: "follow-up-clinic", Type: TypeClinic,
		A:      []string{"clinic*"},
		B:      []string{"vervolg*", "nog een", "opnieuw", "again", "follow*"},
		Window: 30, Weight: 2,
	},
	// A session for the requester's own people, chosen by them, is what a
	// clinic offers ("voor onze zorgcoördinatoren", "met ons team").
	{
		Name: "own-people", Type: TypeClinic,
		A:      []string{"ons", "onze", "het", "our"},
		B:      []string{"team", "teams", "medewerkers", "consulenten", "zorgcoordinatoren", "ib", "ibers", "orthopedagogen", "leerkrachten", "schoolleiders", "commissie", "staff"},
		Window: 1, Weight: 1.5,
	},
	// An OPR asking for help with its consent on the ondersteuningsplan
	// wants the Steunpunt medezeggenschap, not a clinic or a training.
	{
		Name: "opr-guidance", Type: TypeOndersteuningsplanraad,
		A:      []string{"opr", "ondersteuningsplanraad*", "instem*", "medezeggenschap*"},
		B:      []string{"begeleid*", "aanpakken", "aanpak", "beoordelen", "aanschuiven", "advies", "adviseren", "uitleg", "guidance"},
		Window: 10, Weight: 3,
	},
	// A training for OPR or MR members is medezeggenschap business, not
	// the training for kwartiermakers and SWV directors.
	{
		Name: "training-for-opr", Type: TypeTraining,
		A:      []string{"training*", "cursus*", "scholing*"},
		B:      []string{"opr", "ondersteuningsplanraad*", "mr", "gmr", "medezeggenschap*"},
		Window: 4, Weight: -3,
	},
	{
		Name: "training-for-opr", Type: TypeOndersteuningsplanraad,
		A:      []string{"training*", "cursus*", "scholing*"},
		B:      []string{"opr", "ondersteuningsplanraad*", "mr", "gmr", "medezeggenschap*"},
		Window: 4, Weight: 2,
	},
}

// adjustRule scales the score of Scale by Factor when the sender explicitly
// asks for When (an intent fired for it).
type adjustRule struct {
	Name   string
	When   Type
	Scale  Type
	Factor float64
}

var adjustRules = []adjustRule{
	// Ondersteuningsplanraden may ask for the praktijktoets themselves;
	// then "ondersteuningsplanraad" says who asks, not what they want.
	{Name: "opr-asks-praktijktoets", When: TypePraktijktoets, Scale: TypeOndersteuningsplanraad, Factor: 0.3},
}

// Salutations open a mail; a first line starting with one is not the first
// paragraph of the request.
var salutationWords = []string{
	"geachte", "beste", "hallo", "hoi", "hai", "goedemorgen", "goedemiddag", "goedenavond",
	"dag", "waarde", "ls", "l s", "dear", "hi", "hello", "good morning", "good afternoon",
	"sehr geehrte", "liebe", "bonjour", "apologies",
}

// Kind rules.

// bounceSubjectPrefixes open the subject of a delivery status notification
// (Postfix, Exim, Sendmail, Exchange/Microsoft 365 in Dutch and English,
// Gmail). Matched on the folded, lower-cased subject.
var bounceSubjectPrefixes = []string{
	"undeliverable", "undelivered mail", "onbestelbaar", "niet bezorgd", "niet afgeleverd",
	"kan niet worden bezorgd", "bericht niet bezorgd", "delivery status notification",
	"mail delivery failed", "mail delivery failure", "delivery failure", "delivery has failed",
	"returned mail", "failure notice", "message not delivered", "unzustellbar", "non remis",
	"non distribuable", "warning: could not send message", "bezorging mislukt", "bezorging is mislukt",
	"message undeliverable", "nondeliverable", "non-delivery", "delivery notification: delivery has failed",
	"kan niet bezorgd worden", "niet bestelbaar",
}

// bounceLocalParts are the local parts of senders of bounces.
var bounceLocalParts = []string{"mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster"}

// bounceNames occur in the display name of a bounce's sender.
var bounceNames = []string{"mailer-daemon", "mail delivery subsystem", "mail delivery system", "mail delivery service"}

// autoSubjectPrefixes open the subject of an automatic reply; autoSubjectPhrases
// mark one anywhere in the subject.
var (
	autoSubjectPrefixes = []string{
		"auto:", "auto reply", "auto-reply", "autoreply", "automatisch antwoord", "automatic reply",
		"afwezig", "out of office", "ooo:", "abwesend", "automatische antwort", "reponse automatique",
		"gelezen:", "read:", "niet gelezen:", "auto response", "autoresponse", "automatic response",
		"automatische ontvangstbevestiging", "autosvar", "respuesta automatica", "risposta automatica",
	}
	autoSubjectPhrases = []string{
		"automatisch antwoord", "automatic reply", "autoreply", "auto-reply", "out of office",
		"out of the office", "afwezigheidsmelding", "afwezigheidsbericht", "abwesenheitsnotiz",
		"automatische antwort", "reponse automatique", "vakantiemelding", "niet aanwezig tot",
		"afwezig tot", "afwezig van", "met vakantie", "on vacation", "away from the office",
	}
)

// autoPrecedence values of the Precedence field that no person sets.
var autoPrecedence = []string{"auto_reply", "auto-reply", "bulk", "junk", "list"}

// autoBodyPhrases are typical of out-of-office text. They are weak on their
// own (a person may write "ik ben afwezig tot …") and count only together
// with another weak signal such as X-Auto-Response-Suppress or a null
// Return-Path.
var autoBodyPhrases = []string{
	"ben ik afwezig", "ik ben afwezig", "ben ik niet aanwezig", "ik ben niet aanwezig",
	"niet bereikbaar tot", "lees in deze periode", "lees mijn e-mail niet", "wordt niet doorgestuurd",
	"na mijn terugkomst", "met vakantie", "out of the office", "out of office",
	"will not be forwarded", "limited access to", "upon my return", "on holiday", "on vacation",
	"beperkt toegang tot", "automatisch bericht", "automatic message", "dit is een automatisch",
	"this is an automated", "weer aanwezig", "weer bereikbaar", "tijdens mijn afwezigheid",
	"in dringende gevallen", "voor dringende zaken", "met verlof", "niet op kantoor",
	"during my absence", "back in the office", "automatisch gegenereerd",
}

// Subject prefixes of replies and forwards, lower case, without the colon.
var (
	replyPrefixes   = []string{"re", "aw", "antw", "antwoord", "sv", "ref", "r"}
	forwardPrefixes = []string{"fw", "fwd", "doorst", "tr", "wg", "fyi"}
)
