package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.golden from the current output")

// Fake secrets. Tests check that they never show up in errors or printed
// configurations, and never print them themselves.
const (
	envAPIToken     = "env-api-token-0123456789-not-real"
	envSMTPPassword = "env-smtp-secret-not-real"
)

// fileSecrets returns the contents of testdata/secrets, keyed by file name.
func fileSecrets(t *testing.T) map[string]string {
	t.Helper()
	entries, err := os.ReadDir("testdata/secrets")
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("testdata/secrets", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.TrimSpace(string(data)); s != "" {
			m[e.Name()] = s
		}
	}
	return m
}

// checkNoSecrets fails if out holds any of the fake secrets. It names the
// secret's source, not the secret.
func checkNoSecrets(t *testing.T, what, out string, extra map[string]string) {
	t.Helper()
	secrets := fileSecrets(t)
	secrets["env API token"] = envAPIToken
	secrets["env SMTP password"] = envSMTPPassword
	for k, v := range extra {
		secrets[k] = v
	}
	for name, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("%s contains the secret from %s", what, name)
		}
	}
}

// setTestEnv sets the environment variables the testdata files name.
func setTestEnv(t *testing.T) {
	t.Setenv("LOKET_TEST_API_TOKEN", envAPIToken)
	t.Setenv("LOKET_TEST_SMTP_PASSWORD", envSMTPPassword)
	t.Setenv("LOKET_TEST_EMPTY", "")
	t.Setenv("LOKET_TEST_NOT_SET", "")
	os.Unsetenv("LOKET_TEST_NOT_SET") // t.Setenv restores it afterwards
}

type wantProblem struct {
	key  string
	line int
}

// TestProblems loads every file in testdata/bad and checks each problem's
// key and line, and the whole error text against the .golden file next to
// it (go test ./config -update rewrites those).
func TestProblems(t *testing.T) {
	setTestEnv(t)
	tests := []struct {
		file string
		want []wantProblem
	}{
		{"syntax.toml", []wantProblem{{"", 5}}},
		{"missing.toml", []wantProblem{
			{"smtp.host", 2}, // the [smtp] header: the key is missing from it
			{"web.listen", 6},
			{"storage.path", 0},
			{"tickets.prefix", 0},
			{"mailbox", 0},
			{"api.token_file", 0},
		}},
		{"unknown.toml", []wantProblem{
			{"stoarge", 1},
			{"smtp.password", 17},
			{"classification.terms.clinic[1].wieght", 22},
			{"classification.terms.clinic[1].weight", 22},
			{"mailbox[1].port", 33},
			{"mailbox[1].Port", 37},
			{"storage.path", 0},
		}},
		{"types.toml", []wantProblem{
			{"smtp.port", 15},
			{"smtp.timeout", 17},
			{"confirmations.enabled", 20},
			{"intake.max_message_size", 23},
			{"intake.batch_size", 24},
		}},
		{"shape.toml", []wantProblem{
			{"storage", 1}, // and no storage.path: the table's problem covers it
			{"classification.terms.clinic", 18},
			{"mailbox", 20},
		}},
		{"enums.toml", []wantProblem{
			{"smtp.tls", 16},
			{"log.level", 19},
			{"log.format", 20},
			{"mailbox[0].tls", 27},
			{"mailbox[0].initial_sync", 30},
		}},
		{"ports.toml", []wantProblem{
			{"web.listen", 8},
			{"smtp.port", 15},
			{"mailbox[0].port", 22},
			{"mailbox[1].port", 30},
		}},
		{"tls-none.toml", []wantProblem{
			{"smtp.tls", 17},
			{"mailbox[3].tls", 51},
		}},
		{"passwords.toml", []wantProblem{
			{"smtp.password_env", 18},
			{"mailbox[0].password_file", 20},
			{"mailbox[1].password_file", 33},
			{"mailbox[2].password_file", 41},
			{"mailbox[3].password_env", 49},
			{"mailbox[4].password_env", 57},
		}},
		{"relay.toml", []wantProblem{
			{"api.token_file", 12},
			{"smtp.password_file", 18},
		}},
		{"token-both.toml", []wantProblem{
			{"api.token_env", 12},
		}},
		{"memory.toml", []wantProblem{
			{"runtime.memory_limit", 19},
		}},
		{"mailboxes.toml", []wantProblem{
			{"mailbox[0].type_prior", 25},
			{"mailbox[1].name", 28},
			{"mailbox[1].address", 29},
			{"mailbox[2].name", 36},
			{"mailbox[2].address", 37},
			{"mailbox[2].host", 38},
			{"mailbox[2].username", 40},
		}},
		{"values.toml", []wantProblem{
			{"tickets.prefix", 5},
			{"web.listen", 8},
			{"web.base_url", 9},
			{"smtp.timeout", 18},
			{"smtp.max_attempts", 19},
			{"confirmations.per_sender_per_day", 22},
			{"confirmations.templates_dir", 23},
			{"intake.max_message_size", 26},
			{"intake.poll_interval", 27},
			{"intake.batch_size", 28},
			{"classification.threshold", 31},
			{"classification.terms.cursus", 34},
			{"classification.terms.clinic[0].phrase", 35},
			{"classification.terms.clinic[0].weight", 35},
		}},
		// One file, five problems: all five come back at once.
		{"five.toml", []wantProblem{
			{"tickets.prefix", 6},
			{"smtp.tls", 17},
			{"log.level", 22},
			{"mailbox[0].password_env", 30},
			{"mailbox[0].folder", 31},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tt.file)
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s) = %v, want an error", path, c)
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Load(%s): error %T, want *Error: %v", path, err, err)
			}
			var got []wantProblem
			for _, p := range cerr.Problems {
				got = append(got, wantProblem{p.Key, p.Line})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems (key, line):\n got %v\nwant %v\nerror:\n%v", got, tt.want, err)
			}
			checkNoSecrets(t, "error text", err.Error(), map[string]string{"unknown.toml": "hunter2"})

			golden := strings.TrimSuffix(path, ".toml") + ".golden"
			text := err.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./config -update to create it)", err)
			}
			if text != string(want) {
				t.Errorf("error text differs from %s:\n got:\n%s\nwant:\n%s", golden, text, want)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{File: "loket.toml", Problems: []Problem{
		{Key: "smtp.port", Line: 12, Msg: "is required"},
		{Key: "storage.path", Msg: "is required"},
		{Line: 3, Msg: "syntax error at column 9: unexpected EOF"},
	}}
	want := "loket.toml:12: smtp.port: is required\n" +
		"loket.toml: storage.path: is required\n" +
		"loket.toml:3: syntax error at column 9: unexpected EOF"
	if got := e.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}

func TestSyntaxErrorColumn(t *testing.T) {
	_, err := Parse([]byte("[storage]\npath = \"x\"\nport = = 5\n"), "x.toml")
	var cerr *Error
	if !errors.As(err, &cerr) || len(cerr.Problems) != 1 {
		t.Fatalf("Parse: %v, want one problem", err)
	}
	p := cerr.Problems[0]
	if p.Line != 3 || !strings.Contains(p.Msg, "column 8") {
		t.Errorf("problem = %+v, want line 3, column 8", p)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
	var cerr *Error
	if errors.As(err, &cerr) {
		t.Errorf("Load of a missing file gave *Error, want the read error")
	}
}

// TestValid loads the smallest valid configuration and checks defaults,
// relative paths and secrets.
func TestValid(t *testing.T) {
	c, err := Load("testdata/valid.toml")
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	def := Default()
	check("storage.path", c.Storage.Path, filepath.Join("testdata", "loket.db"))
	check("api.token_file", c.API.TokenFile, filepath.Join("testdata", "secrets", "api.token"))
	check("api token", c.API.Token.Reveal() == fileSecrets(t)["api.token"], true)
	check("smtp.tls", c.SMTP.TLS, TLSNone)
	check("smtp password", c.SMTP.Password.Reveal(), "")
	check("smtp.timeout", c.SMTP.Timeout, def.SMTP.Timeout)
	check("smtp.max_attempts", c.SMTP.MaxAttempts, 12)
	check("confirmations", c.Confirmations, def.Confirmations)
	check("intake", c.Intake, def.Intake)
	check("classification", c.Classification, def.Classification)
	check("log", c.Log, def.Log)
	check("mailboxes", len(c.Mailboxes), 1)
	m, ok := c.Mailbox("ondersteuning")
	check("Mailbox found", ok, true)
	check("mailbox tls", m.TLS, TLSImplicit)
	check("mailbox folder", m.Folder, "INBOX")
	check("mailbox initial_sync", m.InitialSync, "import-silent")
	check("mailbox password", m.Password.Reveal() == fileSecrets(t)["imap.pass"], true)
	if _, ok := c.Mailbox("praktijktoets"); ok {
		t.Errorf("Mailbox(praktijktoets) found in a file without it")
	}
}

// loadExample loads ../config.example.toml with its /etc/loket files
// replaced by files in a temporary folder, and returns the config, the
// folder and the secrets it holds.
func loadExample(t *testing.T) (*Config, string, map[string]string) {
	t.Helper()
	data, err := os.ReadFile("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	secrets := map[string]string{
		"api.token":               "example-api-token-0123456789abcdef",
		"smtp.pass":               "example-smtp-secret",
		"imap-ondersteuning.pass": "example-imap-ondersteuning-secret",
		"imap-praktijktoets.pass": "example-imap-praktijktoets-secret",
	}
	for name, s := range secrets {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Contains(data, []byte("/etc/loket/")) {
		t.Fatal("config.example.toml no longer names files in /etc/loket/; adjust loadExample")
	}
	data = bytes.ReplaceAll(data, []byte("/etc/loket/"), []byte(filepath.ToSlash(dir)+"/"))
	path := filepath.Join(dir, "loket.toml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatalf("config.example.toml does not load:\n%v", err)
	}
	return c, dir, secrets
}

// TestExample keeps config.example.toml and the structs in step: the
// example loads without a single problem (so no unknown keys), gives
// exactly these values, and mentions every key the structs know.
func TestExample(t *testing.T) {
	c, dir, secrets := loadExample(t)
	file := func(name string) string { return filepath.Join(filepath.ToSlash(dir), name) }
	want := &Config{
		Storage: Storage{Path: "/var/lib/loket/loket.db"},
		Tickets: Tickets{Prefix: "PO"},
		Web:     Web{Listen: "127.0.0.1:8080", BaseURL: ""},
		API:     API{TokenFile: file("api.token"), Token: Secret(secrets["api.token"])},
		SMTP: SMTP{
			Host:           "smtp.example.org",
			Port:           587,
			TLS:            TLSStartTLS,
			Username:       "loket@example.org",
			PasswordFile:   file("smtp.pass"),
			Password:       Secret(secrets["smtp.pass"]),
			Timeout:        Duration{30 * time.Second},
			MaxAttempts:    12,
			RetryBase:      Duration{30 * time.Second},
			MaxConnections: 4,
			Auth:           AuthPassword,
		},
		Confirmations: Confirmations{Enabled: true, PerSenderPerDay: 5, PerSenderPerHour: 3, BounceQuiet: Duration{168 * time.Hour}, TemplatesDir: ""},
		Intake: Intake{
			MaxMessageSize: 50_000_000,
			PollInterval:   Duration{60 * time.Second},
			BatchSize:      2000,
		},
		Classification: Classification{
			Threshold: 0.35,
			Terms:     map[string][]Term{"clinic": {{Phrase: "studiemiddag", Weight: 2.0}}},
		},
		Log:       Log{Level: "info", Format: "text"},
		Backup:    Backup{Interval: Duration{24 * time.Hour}, Keep: 7},
		Alerts:    Alerts{Address: "beheer@poraad.nl", NoPollAfter: Duration{30 * time.Minute}, MinInterval: Duration{time.Hour}},
		Retention: Retention{MonthsAfterClose: 24},
		Mailboxes: []Mailbox{
			{
				Name:         "ondersteuning",
				Address:      "ondersteuningpassendonderwijs@poraad.nl",
				Host:         "imap.example.org",
				Port:         993,
				TLS:          TLSImplicit,
				Username:     "ondersteuning",
				PasswordFile: file("imap-ondersteuning.pass"),
				Password:     Secret(secrets["imap-ondersteuning.pass"]),
				Folder:       "INBOX",
				InitialSync:  "import-silent",
				TypePrior:    "",
				DisplayName:  "Ondersteuning Passend onderwijs",
				Auth:         AuthPassword,
			},
			{
				Name:         "praktijktoets",
				Address:      "praktijktoets@ondersteuningpassendonderwijs.nl",
				Host:         "imap.example.org",
				Port:         993,
				TLS:          TLSImplicit,
				Username:     "praktijktoets",
				PasswordFile: file("imap-praktijktoets.pass"),
				Password:     Secret(secrets["imap-praktijktoets.pass"]),
				Folder:       "INBOX",
				InitialSync:  "import-silent",
				TypePrior:    "praktijktoets",
				DisplayName:  "Praktijktoets Passend onderwijs",
				Auth:         AuthPassword,
			},
		},
	}
	want.Leaders = []Leader{
		{Name: "Anna de Vries", Address: "a.devries@poraad.nl", Types: []string{"praktijktoets", "clinic", "maatwerkbijeenkomst"}},
		{Name: "Bram Jansen", Address: "b.jansen@poraad.nl", Types: []string{"clinic", "werkbijeenkomst", "opp-bijeenkomst", "training", "tweedaagse", "goed-voorbeeld", "instrumentarium", "overig"}},
	}
	want.Sessions = []Session{{ID: "wb-utrecht-2026-04", Type: "werkbijeenkomst",
		Title:    "Werkbijeenkomst samenwerking met gemeenten en jeugdhulppartners (Utrecht)",
		Location: "Jaarbeurs, Utrecht", Capacity: 40}}
	want.Timers = Timers{ReminderDaysBefore: 2, NudgeWorkingDays: 3, WaitingReminderDays: 7, WaitingCloseDays: 7, Interval: Duration{time.Minute}}
	if len(c.Sessions) == 1 {
		// Times carry their own *time.Location: compare the instants, then
		// take them over for the DeepEqual below.
		s := c.Sessions[0]
		if !s.Start.Equal(time.Date(2026, 4, 14, 11, 0, 0, 0, time.UTC)) || !s.End.Equal(time.Date(2026, 4, 14, 14, 30, 0, 0, time.UTC)) {
			t.Errorf("session times %v – %v", s.Start, s.End)
		}
		want.Sessions[0].Start, want.Sessions[0].End = s.Start, s.End
	}
	if !reflect.DeepEqual(c, want) {
		// %+v prints secrets as REDACTED, so compare them separately.
		t.Errorf("example config:\n got %+v\nwant %+v", c, want)
	}

	// Every key of the structs is in the example, set or shown in a
	// comment (the *_env alternatives).
	data, err := os.ReadFile("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	ix := indexLines(string(data))
	for _, k := range structKeys(reflect.TypeFor[Config](), nil) {
		if !ix.has(k) && !bytes.Contains(data, []byte("# "+k[len(k)-1]+" = ")) {
			t.Errorf("config.example.toml does not mention %s", k)
		}
	}
}

// structKeys lists the key paths of every field of t, with arrays of
// tables at index 0 and maps as one key.
func structKeys(t reflect.Type, p keyPath) []keyPath {
	var keys []keyPath
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("toml")
		if name == "" || name == "-" {
			continue
		}
		k := p.key(name)
		switch {
		case f.Type.Kind() == reflect.Struct && !reflect.PointerTo(f.Type).Implements(textUnmarshaler):
			keys = append(keys, structKeys(f.Type, k)...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			keys = append(keys, structKeys(f.Type.Elem(), k.index(0))...)
		default:
			keys = append(keys, k)
		}
	}
	return keys
}

// TestSecretsNotPrinted prints a config with every secret set in every
// way a caller might, and checks that no secret comes out.
func TestSecretsNotPrinted(t *testing.T) {
	c, _, secrets := loadExample(t)
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outputs = append(outputs, fmt.Sprintf(verb, c), fmt.Sprintf(verb, *c))
		outputs = append(outputs, fmt.Sprintf(verb, c.SMTP.Password), fmt.Sprintf(verb, c.Mailboxes[0]))
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(js))
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		log := slog.New(h)
		log.Info("start", "config", c)
		log.Info("start", "config", *c)
		log.Info("start", "smtp", c.SMTP, "password", c.SMTP.Password, "mailbox", c.Mailboxes[1])
	}
	outputs = append(outputs, buf.String())
	for i, out := range outputs {
		checkNoSecrets(t, fmt.Sprintf("output %d", i), out, secrets)
	}
	if got := c.SMTP.Password.Reveal(); got != secrets["smtp.pass"] {
		t.Errorf("Reveal does not return the secret")
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30s", 30 * time.Second, true},
		{"5m", 5 * time.Minute, true},
		{"1h30m", 90 * time.Minute, true},
		{" 250ms ", 250 * time.Millisecond, true},
		{"0s", 0, true},
		{"-5s", -5 * time.Second, true}, // parses; validation rejects it
		{"30", 0, false},
		{"5 minutes", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		var d Duration
		err := d.UnmarshalText([]byte(tt.in))
		if (err == nil) != tt.ok || (tt.ok && d.Duration != tt.want) {
			t.Errorf("Duration(%q) = %v, %v; want %v, ok %v", tt.in, d.Duration, err, tt.want, tt.ok)
		}
		if tt.ok {
			text, _ := d.MarshalText()
			var back Duration
			if err := back.UnmarshalText(text); err != nil || back != d {
				t.Errorf("Duration(%q) does not round-trip through %q", tt.in, text)
			}
		}
	}
}

func TestSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		ok   bool
	}{
		{"1024", 1024, true},
		{"0", 0, true},
		{"512KB", 512_000, true},
		{"512KiB", 512 << 10, true},
		{"50MB", 50_000_000, true},
		{"25MiB", 25 << 20, true},
		{"2GB", 2_000_000_000, true},
		{"1GiB", 1 << 30, true},
		{"50 MB", 50_000_000, true},
		{"50mb", 50_000_000, true},
		{"100B", 100, true},
		{"-1MB", -1_000_000, true}, // parses; validation rejects it
		{"50 MBs", 0, false},
		{"1.5MB", 0, false},
		{"MB", 0, false},
		{"", 0, false},
		{"99999999999GB", 0, false},
		{"50TB", 0, false},
	}
	for _, tt := range tests {
		var s Size
		err := s.UnmarshalText([]byte(tt.in))
		if (err == nil) != tt.ok || (tt.ok && s != tt.want) {
			t.Errorf("Size(%q) = %d, %v; want %d, ok %v", tt.in, s, err, tt.want, tt.ok)
		}
		if tt.ok {
			var back Size
			if err := back.UnmarshalText([]byte(s.String())); err != nil || back != s {
				t.Errorf("Size(%q) does not round-trip through %q", tt.in, s.String())
			}
		}
	}
	// A TOML integer is a number of bytes.
	data, err := os.ReadFile("testdata/valid.toml")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, "\n[intake]\nmax_message_size = 2048\n"...)
	c, err := Parse(data, "testdata/valid.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Intake.MaxMessageSize != 2048 {
		t.Errorf("max_message_size = 2048 gives %d bytes", c.Intake.MaxMessageSize)
	}
}

func TestLineIndex(t *testing.T) {
	src := `# comment [not] = "a table"
title = "x" # trailing
multi = """
not_a_key = 1
[not.a.table]
"""
lit = '''
[still.not]'''
a.b."c.d" = 1
list = [
  1, # one
  { k = "v", n = { deep = true } },
  [2, 3],
]

[server]
host = "h"

[[mailbox]]
name = "a"

[mailbox.sub]
x = 1

[[mailbox]]
name = "b"

[[mailbox.arr]]
z = 1

[[mailbox.arr]]
z = 2
`
	ix := indexLines(src)
	want := map[string]int{
		"title":               2,
		"multi":               3,
		"lit":                 7,
		"a":                   9,
		"a.b":                 9,
		`a.b."c.d"`:           9,
		"list":                10,
		"list[0]":             11,
		"list[1]":             12,
		"list[1].k":           12,
		"list[1].n.deep":      12,
		"list[2]":             13,
		"list[2][1]":          13,
		"server":              16,
		"server.host":         17,
		"mailbox":             19,
		"mailbox[0]":          19,
		"mailbox[0].name":     20,
		"mailbox[0].sub":      22,
		"mailbox[0].sub.x":    23,
		"mailbox[1]":          25,
		"mailbox[1].name":     26,
		"mailbox[1].arr":      28,
		"mailbox[1].arr[0].z": 29,
		"mailbox[1].arr[1]":   31,
		"mailbox[1].arr[1].z": 32,
	}
	for k, line := range want {
		if got, ok := ix[k]; !ok || got != line {
			t.Errorf("line of %s = %d (found %v), want %d", k, got, ok, line)
		}
	}
	for _, k := range []string{"not_a_key", "not", "still", "not.a.table", "comment"} {
		if _, ok := ix[k]; ok {
			t.Errorf("%s indexed, but it is inside a string or comment", k)
		}
	}
	// A key that is not written falls back to its table.
	if got := ix.line(dotted("server.port")); got != 16 {
		t.Errorf("line of missing server.port = %d, want 16 (the [server] header)", got)
	}
	if got := ix.line(dotted("storage.path")); got != 0 {
		t.Errorf("line of missing storage.path = %d, want 0", got)
	}
}

// FuzzIndexLines checks that the line scanner never panics or hangs, even
// on text the TOML parser would reject.
func FuzzIndexLines(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.toml")
	files = append(files, "testdata/valid.toml", "../config.example.toml")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(string(data))
		}
	}
	f.Add("a = \"\"\"\nunterminated")
	f.Add("[[a.b]\nc = [ { d = '''\n")
	f.Fuzz(func(t *testing.T, src string) {
		indexLines(src)
	})
}

func TestTerms(t *testing.T) {
	data, err := os.ReadFile("testdata/valid.toml")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, `
[classification.terms]
clinic = [ { phrase = "studiemiddag", weight = 2 }, { phrase = "clinic", weight = 0 } ]
goed-voorbeeld = [ { phrase = "inspirerend voorbeeld", weight = -0.5 } ]
`...)
	c, err := Parse(data, "testdata/valid.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Term{
		"clinic":         {{"studiemiddag", 2}, {"clinic", 0}}, // 0 switches a built-in term off
		"goed-voorbeeld": {{"inspirerend voorbeeld", -0.5}},
	}
	if !reflect.DeepEqual(c.Classification.Terms, want) {
		t.Errorf("terms = %v, want %v", c.Classification.Terms, want)
	}
}
