// Command loket-bench measures Loket's intake against a real Dovecot and an
// SMTP listener on loopback (docs/PERFORMANCE.md): a bare go-imap
// `UID FETCH BODY[]` of a mailbox against Loket's import-silent intake of
// the same mailbox to committed tickets, the latency from APPEND to the
// confirmation accepted by the SMTP listener while Loket idles, and the
// store's size per ticket; with -full also start-up and the filtered
// ticket list with 100 000 tickets. It prints a table and, with -json,
// writes the figures so that two runs can be compared.
//
//	go run ./cmd/loket-bench [-n 1000,10000] [-m 200] [-full] [-json FILE]
package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/internal/app"
	"github.com/poraad/loket/internal/mailtest"
	"github.com/poraad/loket/templates"
	"github.com/poraad/loket/web"
	"github.com/poraad/loket/workflow"
)

const (
	deskAddress = "ondersteuningpassendonderwijs@poraad.nl"
	password    = "bench"
)

// Result is what one run measured; the JSON of -json.
type Result struct {
	Started   time.Time     `json:"started"`
	GoVersion string        `json:"go_version"`
	CPUs      int           `json:"cpus"`
	Intake    []IntakeRun   `json:"intake"`
	Latency   *LatencyRun   `json:"latency,omitempty"`
	Recheck   *LatencyRun   `json:"latency_idle_recheck,omitempty"` // the latency run with IdleRecheck
	Memory    *MemoryRun    `json:"memory,omitempty"`
	BigStore  *BigStoreRun  `json:"big_store,omitempty"`
	Notes     []string      `json:"notes,omitempty"`
	Total     time.Duration `json:"total_ns"`
}

// IntakeRun compares a bare fetch with Loket's intake of N messages.
type IntakeRun struct {
	N              int     `json:"n"`
	Bytes          int64   `json:"bytes"`
	BareSeconds    float64 `json:"bare_fetch_s"`
	LoketSeconds   float64 `json:"loket_import_silent_s"`
	Ratio          float64 `json:"ratio"`
	BarePerSecond  float64 `json:"bare_msgs_per_s"`
	LoketPerSecond float64 `json:"loket_msgs_per_s"`
	StoreBytes     int64   `json:"store_bytes"`
	BytesPerTicket float64 `json:"store_bytes_per_ticket"`
	// LoketCPUSeconds is the CPU time (user and system, all threads) the
	// intake took: on a shared machine steadier than the wall clock.
	LoketCPUSeconds float64 `json:"loket_cpu_s"`
	// With -count above 1, the run above is the one of the median ratio,
	// and these the count and the range of ratios of all runs of this N.
	Runs     int     `json:"runs,omitempty"`
	RatioMin float64 `json:"ratio_min,omitempty"`
	RatioMax float64 `json:"ratio_max,omitempty"`
}

// LatencyRun is APPEND to confirmation accepted by the SMTP listener.
type LatencyRun struct {
	M           int     `json:"m"`
	Every       string  `json:"every"`
	IdleRecheck string  `json:"idle_recheck,omitempty"` // "" for pure IDLE
	P50         float64 `json:"p50_ms"`
	P95         float64 `json:"p95_ms"`
	P99         float64 `json:"p99_ms"`
	Max         float64 `json:"max_ms"`
}

// MemoryRun is the peak RSS of a process taking big attachments.
type MemoryRun struct {
	Small     int     `json:"small"`
	Big       int     `json:"big"`
	BigMB     int     `json:"big_mb"`
	Seconds   float64 `json:"seconds"`
	PeakRSSMB float64 `json:"peak_rss_mb"` // VmHWM of the child that ran the intake
	// The highest anonymous memory and mapped file pages (bbolt's mmap,
	// the program's text) seen, sampled every 10 ms; their sum may exceed
	// PeakRSSMB, since they need not peak together.
	PeakAnonMB float64 `json:"peak_rss_anon_mb"`
	PeakFileMB float64 `json:"peak_rss_file_mb"`
	// At the end: anonymous memory, and file pages mapped.
	EndAnonMB float64 `json:"end_rss_anon_mb"`
	EndFileMB float64 `json:"end_rss_file_mb"`
}

// BigStoreRun is start-up and the filtered list with many tickets.
type BigStoreRun struct {
	Tickets   int     `json:"tickets"`
	StartupMS float64 `json:"startup_ms"` // open the store, templates, classifier
	// FirstListMS is the first GET /api/v1/tickets?state=new after that,
	// which waits for the index's summaries; IndexWordsMS then the rest of
	// WarmIndex (the words for search), which serve runs in the background.
	FirstListMS  float64 `json:"first_list_ms"`
	IndexWordsMS float64 `json:"index_words_ms"`
	// ListMS and ListNoneMS are GET /api/v1/tickets?state=new (one page of
	// 100) and ?state=closed, median of 5, with the index built.
	ListMS         float64 `json:"list_state_ms"`
	Listed         int     `json:"listed"`             // total of state=new
	ListNoneMS     float64 `json:"list_state_none_ms"` // a state no ticket is in
	BytesPerTicket float64 `json:"store_bytes_per_ticket"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loket-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	// The garbage collector as loket serve and loket import set it: the
	// default [runtime] gc_percent, or GOGC from the environment.
	defer app.SetGCPercent(0, nil)()
	if len(args) == 4 && args[0] == "-child-intake" { // memoryRun's child
		return childIntake(ctx, args[1], args[2], args[3], out)
	}
	fs := flag.NewFlagSet("loket-bench", flag.ContinueOnError)
	sizes := fs.String("n", "1000,10000", "mailbox sizes for the intake comparison, comma-separated")
	m := fs.Int("m", 0, "messages for the latency run, one every 20 ms (default 200, 1000 with -full)")
	full := fs.Bool("full", false, "also the 100 000-ticket store; larger latency run")
	recheck := fs.Duration("idle-recheck", 50*time.Millisecond, "the latency run again with this IdleRecheck; 0 skips it")
	jsonPath := fs.String("json", "", "write the figures as JSON to this file")
	rss := fs.Bool("rss", false, "also the peak RSS run (10 messages of 25 MB among 1 000); on with -full")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of Loket's intake (the largest -n) to this file")
	count := fs.Int("count", 1, "run each intake comparison this many times, each on a mailbox of its own, and report the run of the median ratio with the range")
	traceFile := fs.String("trace", "", "write an execution trace of Loket's intake (the largest -n) to this file: go tool trace -pprof=sched shows where goroutines waited for a core")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *count < 1 {
		return fmt.Errorf("-count: want at least 1, got %d", *count)
	}
	if *m == 0 {
		*m = 200
		if *full {
			*m = 1000
		}
	}
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("-n: bad size %q", s)
		}
		ns = append(ns, n)
	}
	if !mailtest.DovecotAvailable() {
		return fmt.Errorf("dovecot is not installed (apt-get install dovecot-imapd)")
	}
	dir, err := os.MkdirTemp("", "lb")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	users := map[string]string{"lat": password, "latr": password, "mem": password}
	for _, n := range ns {
		for k := range *count {
			users[intakeUser(n, k)] = password
		}
	}
	dc, err := mailtest.StartDovecot(filepath.Join(dir, "dovecot"), users)
	if err != nil {
		return err
	}
	defer dc.Stop()

	res := Result{Started: time.Now().UTC(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU()}
	corpus := loadCorpus()
	res.Notes = append(res.Notes, fmt.Sprintf("messages cycled from %d sample mails, mean %d bytes", len(corpus), meanLen(corpus)))
	gc := debug.SetGCPercent(-1) // read it back: Go has no getter
	debug.SetGCPercent(gc)
	res.Notes = append(res.Notes, fmt.Sprintf("garbage collector at GOGC=%d, as loket serve sets it ([runtime] gc_percent, or GOGC)", gc))
	largest := slices.Max(ns)
	for _, n := range ns {
		profile, tr := "", ""
		if n == largest {
			profile, tr = *cpuProfile, *traceFile
		}
		var runs []IntakeRun
		for k := range *count {
			if k > 0 {
				profile, tr = "", "" // of the first run only
			}
			r, err := intakeRun(ctx, dc, dir, intakeUser(n, k), n, corpus, profile, tr)
			if err != nil {
				return fmt.Errorf("intake run of %d: %w", n, err)
			}
			fmt.Fprintf(os.Stderr, "intake %d: bare %.2fs, loket %.2fs, %.2f×\n", n, r.BareSeconds, r.LoketSeconds, r.Ratio)
			runs = append(runs, r)
		}
		res.Intake = append(res.Intake, medianRun(runs))
	}
	lat, err := latencyRun(ctx, dc, dir, *m, "lat", 0)
	if err != nil {
		return fmt.Errorf("latency run: %w", err)
	}
	res.Latency = &lat
	if *recheck > 0 {
		lat, err := latencyRun(ctx, dc, dir, *m, "latr", *recheck)
		if err != nil {
			return fmt.Errorf("latency run with idle recheck: %w", err)
		}
		res.Recheck = &lat
	}
	if *full || *rss {
		mem, err := memoryRun(ctx, dc, dir, corpus)
		if err != nil {
			return fmt.Errorf("memory run: %w", err)
		}
		res.Memory = &mem
	}
	if *full {
		big, err := bigStoreRun(dir, 100000, corpus)
		if err != nil {
			return fmt.Errorf("big store: %w", err)
		}
		res.BigStore = &big
	}
	res.Total = time.Since(res.Started)
	printTable(out, res)
	if *jsonPath != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

var messageIDRe = regexp.MustCompile(`(?im)^message-id:[^\n]*\n`)

// intakeUser is the Dovecot user of the k-th intake run of n messages.
func intakeUser(n, k int) string { return fmt.Sprintf("b%dr%d", n, k) }

// medianRun returns the run of the median ratio (the lower of the middle
// two), with the count and range of the ratios when there are several.
func medianRun(runs []IntakeRun) IntakeRun {
	if len(runs) == 1 {
		return runs[0]
	}
	sorted := slices.SortedFunc(slices.Values(runs), func(a, b IntakeRun) int { return cmp.Compare(a.Ratio, b.Ratio) })
	r := sorted[(len(sorted)-1)/2]
	r.Runs, r.RatioMin, r.RatioMax = len(sorted), sorted[0].Ratio, sorted[len(sorted)-1].Ratio
	return r
}

// loadCorpus reads the new requests of the shared sample mail, or makes
// requests of a few KB when it is absent.
func loadCorpus() [][]byte {
	var out [][]byte
	for _, dir := range []string{"../shared/corpus/samples", "intake/testdata/classify/heldout"} {
		// New requests only: cycled follow-ups would pile thousands of
		// messages onto the few tickets they name, which no desk sees.
		var files []string
		manifest, _ := os.ReadFile(filepath.Join(dir, "manifest.tsv"))
		for _, line := range strings.Split(string(manifest), "\n") {
			if f := strings.Split(line, "\t"); len(f) > 2 && f[2] == "new" {
				files = append(files, filepath.Join(dir, f[0]))
			}
		}
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil {
				out = append(out, b)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	for i := range 20 {
		out = append(out, []byte(fmt.Sprintf("From: Aanvrager %d <a%d@swv.example>\r\nTo: %s\r\nSubject: Aanvraag clinic %d\r\n\r\n%s", i, i, deskAddress, i,
			strings.Repeat("Wij willen graag een clinic aanvragen voor ons team van het samenwerkingsverband.\r\n", 30))))
	}
	return out
}

func meanLen(c [][]byte) int {
	t := 0
	for _, b := range c {
		t += len(b)
	}
	return t / max(1, len(c))
}

// message i: a corpus mail with its own Message-ID.
func message(corpus [][]byte, i int, tag string) []byte {
	raw := corpus[i%len(corpus)]
	head := raw
	if k := strings.Index(string(raw), "\n\n"); k >= 0 {
		head = raw[:k]
	} else if k := strings.Index(string(raw), "\r\n\r\n"); k >= 0 {
		head = raw[:k]
	}
	body := raw[len(head):]
	head = messageIDRe.ReplaceAll(head, nil)
	var b strings.Builder
	// Real Message-IDs are random ("CAF8x…@mail.gmail.com"): consecutive
	// messages sort far apart in the store's Message-ID index, which a
	// counter alone ("b-1", "b-2") would flatter.
	h := sha256.Sum256(fmt.Appendf(nil, "%s-%d", tag, i))
	fmt.Fprintf(&b, "Message-ID: <%x.%s-%d@loket.bench>\r\n", h[:12], tag, i)
	b.Write(head)
	b.Write(body)
	return []byte(b.String())
}

// fillMaildir writes n messages straight into the user's Maildir/new.
func fillMaildir(dc *mailtest.Dovecot, dir, user string, n int, corpus [][]byte) (int64, error) {
	md := filepath.Join(dir, "dovecot", "mail", user, "Maildir")
	for _, sub := range []string{"", "cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(md, sub), 0o700); err != nil {
			return 0, err
		}
		if err := os.Chown(filepath.Join(md, sub), 5000, 5000); err != nil {
			return 0, err
		}
	}
	os.Chown(filepath.Join(dir, "dovecot", "mail", user), 5000, 5000)
	var total int64
	for i := range n {
		raw := message(corpus, i, user)
		p := filepath.Join(md, "new", fmt.Sprintf("%d.%06d.bench", 1700000000+i, i))
		if err := os.WriteFile(p, raw, 0o600); err != nil {
			return 0, err
		}
		if err := os.Chown(p, 5000, 5000); err != nil {
			return 0, err
		}
		total += int64(len(raw))
	}
	return total, nil
}

func login(dc *mailtest.Dovecot, user string, opts *imapclient.Options) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(dc.Addr(), opts)
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// bareFetch reads every message of the user's INBOX with one
// UID FETCH 1:* BODY.PEEK[] and throws it away. It is timed from the
// connect, as Loket's intake is: both log in and select before they fetch.
func bareFetch(dc *mailtest.Dovecot, user string) (int, time.Duration, error) {
	start := time.Now()
	c, err := login(dc, user, nil)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		return 0, 0, err
	}
	var set imap.UIDSet
	set.AddRange(1, 0)
	cmd := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	n := 0
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		for {
			item := msg.Next()
			if item == nil {
				break
			}
			if b, ok := item.(imapclient.FetchItemDataBodySection); ok && b.Literal != nil {
				if _, err := io.Copy(io.Discard, b.Literal); err != nil {
					return n, 0, err
				}
			}
		}
		n++
	}
	if err := cmd.Close(); err != nil {
		return n, 0, err
	}
	return n, time.Since(start), nil
}

type loket struct {
	st   *workflow.Store
	svc  *workflow.Service
	path string
}

func newLoket(path string) (*loket, error) {
	st, err := workflow.Open(path)
	if err != nil {
		return nil, err
	}
	tmpl, err := templates.Load("")
	if err != nil {
		return nil, err
	}
	own := []string{deskAddress}
	cl, err := intake.NewClassifier(intake.ClassifierConfig{Prefix: "PO", OwnAddresses: own})
	if err != nil {
		return nil, err
	}
	pol := &workflow.Policy{Prefix: "PO", Templates: tmpl, Confirm: true, PerRecipientPerDay: 1000, OwnAddresses: own,
		Mailboxes: map[string]workflow.MailboxInfo{"ondersteuning": {Name: "ondersteuning", Address: deskAddress, DisplayName: "Ondersteuning"}}}
	return &loket{st: st, path: path, svc: &workflow.Service{Store: st, Classifier: cl, Policy: pol}}, nil
}

func (l *loket) poller(dc *mailtest.Dovecot, user, initial string, recheck time.Duration) *intake.Poller {
	return intake.NewPoller(intake.MailboxConfig{Name: "ondersteuning", Address: deskAddress, Host: dc.Host(), Port: dc.Port(),
		TLS: "none", Username: user, Password: password, PollInterval: time.Hour, InitialSync: initial,
		BatchSize: intake.DefaultBatchSize, IdleRecheck: recheck},
		l.svc, slog.New(slog.DiscardHandler))
}

// intakeRun fills a mailbox of n messages and times a bare fetch of it
// against Loket's import-silent intake; with profile set, it writes a CPU
// profile of the intake alone there.
func intakeRun(ctx context.Context, dc *mailtest.Dovecot, dir, user string, n int, corpus [][]byte, profile, tracePath string) (IntakeRun, error) {
	r := IntakeRun{N: n}
	var err error
	if r.Bytes, err = fillMaildir(dc, dir, user, n, corpus); err != nil {
		return r, err
	}
	// Dovecot takes the new files into its index at the first SELECT:
	// a warm-up fetch, not measured.
	if _, _, err := bareFetch(dc, user); err != nil {
		return r, err
	}
	got, d, err := bareFetch(dc, user)
	if err != nil {
		return r, err
	}
	if got != n {
		return r, fmt.Errorf("bare fetch read %d messages, want %d", got, n)
	}
	r.BareSeconds = d.Seconds()

	l, err := newLoket(filepath.Join(dir, user+".db"))
	if err != nil {
		return r, err
	}
	defer l.st.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := l.poller(dc, user, intake.InitialSyncImportSilent, 0)
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return r, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return r, err
		}
		defer pprof.StopCPUProfile() // on an early return; a second stop does nothing
	}
	if tracePath != "" {
		f, err := os.Create(tracePath)
		if err != nil {
			return r, err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return r, err
		}
		defer trace.Stop() // on an early return; a second stop does nothing
	}
	start, cpu0 := time.Now(), cpuTime()
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	for p.Status().Handled < int64(n) {
		select {
		case err := <-errc:
			return r, fmt.Errorf("poller stopped: %v", err)
		case <-time.After(2 * time.Millisecond):
		}
		if time.Since(start) > 30*time.Minute {
			return r, fmt.Errorf("intake of %d messages not done after 30 minutes: %+v", n, p.Status())
		}
	}
	r.LoketSeconds = time.Since(start).Seconds()
	r.LoketCPUSeconds = (cpuTime() - cpu0).Seconds()
	if profile != "" {
		pprof.StopCPUProfile()
	}
	trace.Stop()
	cancel()
	<-errc
	st, err := l.st.Stats()
	if err != nil {
		return r, err
	}
	if st.OutboxPending != 0 {
		return r, fmt.Errorf("import-silent queued %d mails", st.OutboxPending)
	}
	if fi, err := os.Stat(l.path); err == nil {
		r.StoreBytes = fi.Size()
		r.BytesPerTicket = float64(fi.Size()) / float64(max(1, st.Tickets))
	}
	r.Ratio = r.LoketSeconds / r.BareSeconds
	r.BarePerSecond = float64(n) / r.BareSeconds
	r.LoketPerSecond = float64(n) / r.LoketSeconds
	return r, nil
}

var inReplyToRe = regexp.MustCompile(`(?im)^in-reply-to:\s*<[0-9a-f]+\.lat-(\d+)@loket\.bench>`)

// latencyRun measures APPEND to confirmation for user's mailbox, idling
// with the given IdleRecheck (0: pure IDLE).
func latencyRun(ctx context.Context, dc *mailtest.Dovecot, dir string, m int, user string, recheck time.Duration) (LatencyRun, error) {
	r := LatencyRun{M: m, Every: "20ms"}
	if recheck > 0 {
		r.IdleRecheck = recheck.String()
	}
	smtpSrv, err := mailtest.StartSMTP()
	if err != nil {
		return r, err
	}
	defer smtpSrv.Close()
	l, err := newLoket(filepath.Join(dir, user+".db"))
	if err != nil {
		return r, err
	}
	defer l.st.Close()
	sender := workflow.NewSender(l.st, workflow.SMTPConfig{Host: smtpSrv.Host(), Port: smtpSrv.Port(), TLS: "none",
		Timeout: 10 * time.Second, RetryBase: 100 * time.Millisecond, RetryMax: time.Second}, slog.New(slog.DiscardHandler))
	l.svc.Committed = sender.Kick
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go sender.Run(ctx)
	p := l.poller(dc, user, intake.InitialSyncImport, recheck)
	go p.Run(ctx)
	for p.Status().LastPoll.IsZero() {
		time.Sleep(5 * time.Millisecond)
	}
	c, err := login(dc, user, nil)
	if err != nil {
		return r, err
	}
	defer c.Close()
	corpus := [][]byte{[]byte("From: Aanvrager <a@swv.example>\r\nTo: " + deskAddress + "\r\nSubject: Aanvraag clinic\r\n\r\nWij willen graag een clinic aanvragen voor ons team.\r\n")}
	sent := make([]time.Time, m)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := range m {
		raw := message(corpus, i, "lat")
		raw = []byte(strings.Replace(string(raw), "<a@swv.example>", fmt.Sprintf("<a%d@swv.example>", i), 1))
		sent[i] = time.Now()
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		if _, err := cmd.Write(raw); err != nil {
			return r, err
		}
		if err := cmd.Close(); err != nil {
			return r, err
		}
		if _, err := cmd.Wait(); err != nil {
			return r, err
		}
		<-tick.C
	}
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer wcancel()
	caps, err := smtpSrv.Wait(wctx, m)
	if err != nil {
		return r, fmt.Errorf("%d of %d confirmations: %w", len(smtpSrv.Messages()), m, err)
	}
	var lat []float64
	for _, cp := range caps {
		mm := inReplyToRe.FindSubmatch(cp.Data)
		if mm == nil {
			continue
		}
		i, _ := strconv.Atoi(string(mm[1]))
		if i < m {
			lat = append(lat, float64(cp.At.Sub(sent[i]).Microseconds())/1000)
		}
	}
	if len(lat) < m {
		return r, fmt.Errorf("matched %d confirmations of %d", len(lat), m)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	r.P50, r.P95, r.P99, r.Max = pct(0.50), pct(0.95), pct(0.99), lat[len(lat)-1]
	return r, nil
}

// bigStoreRun fills a store with n tickets through IngestBatch, then
// measures opening it as serve does and the filtered list of tickets the
// API's GET /api/v1/tickets?state=new answers with.
func bigStoreRun(dir string, n int, corpus [][]byte) (BigStoreRun, error) {
	r := BigStoreRun{Tickets: n}
	path := filepath.Join(dir, "big.db")
	l, err := newLoket(path)
	if err != nil {
		return r, err
	}
	var batch []workflow.Inbound
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := l.st.IngestBatch(batch, l.svc.Policy)
		batch = batch[:0]
		return err
	}
	for i := range n {
		raw := message(corpus, i, "big")
		msg := intake.Parse(raw)
		batch = append(batch, workflow.Inbound{Mailbox: "ondersteuning", Raw: raw, Msg: msg,
			Class: l.svc.Classify(msg, "ondersteuning"), Backlog: true})
		if len(batch) == 1000 {
			if err := flush(); err != nil {
				return r, err
			}
		}
	}
	if err := flush(); err != nil {
		return r, err
	}
	if err := l.st.Close(); err != nil {
		return r, err
	}
	start := time.Now()
	l2, err := newLoket(path)
	if err != nil {
		return r, err
	}
	defer l2.st.Close()
	r.StartupMS = float64(time.Since(start).Microseconds()) / 1000
	// The API's handler, as serve mounts it.
	api := (&web.API{Store: l2.st, Token: password, Log: slog.New(slog.DiscardHandler)}).Handler()
	list := func(query string) (web.TicketList, float64, error) {
		req := httptest.NewRequest("GET", "/api/v1/tickets?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+password)
		rec := httptest.NewRecorder()
		start := time.Now()
		api.ServeHTTP(rec, req)
		took := float64(time.Since(start).Microseconds()) / 1000
		var out web.TicketList
		if rec.Code != 200 {
			return out, took, fmt.Errorf("GET /api/v1/tickets?%s: %d %s", query, rec.Code, rec.Body)
		}
		return out, took, json.Unmarshal(rec.Body.Bytes(), &out)
	}
	median := func(query string) (float64, error) {
		var ms []float64
		for range 5 {
			_, took, err := list(query)
			if err != nil {
				return 0, err
			}
			ms = append(ms, took)
		}
		slices.Sort(ms)
		return ms[len(ms)/2], nil
	}
	out, first, err := list("state=new")
	if err != nil {
		return r, err
	}
	r.FirstListMS, r.Listed = first, out.Total
	start = time.Now()
	if err := l2.st.WarmIndex(); err != nil {
		return r, err
	}
	r.IndexWordsMS = float64(time.Since(start).Microseconds()) / 1000
	if r.ListMS, err = median("state=new"); err != nil {
		return r, err
	}
	if r.ListNoneMS, err = median("state=closed"); err != nil {
		return r, err
	}
	if fi, err := os.Stat(path); err == nil {
		r.BytesPerTicket = float64(fi.Size()) / float64(n)
	}
	return r, nil
}

func printTable(w io.Writer, r Result) {
	fmt.Fprintf(w, "loket-bench %s, %s, %d CPUs, %s in all\n\n", r.Started.Format(time.RFC3339), r.GoVersion, r.CPUs, r.Total.Round(time.Second))
	fmt.Fprintf(w, "%-8s %10s %12s %12s %7s %12s %12s %14s %12s\n", "messages", "MB", "bare fetch", "loket", "ratio", "bare msg/s", "loket msg/s", "store B/ticket", "loket CPU")
	for _, x := range r.Intake {
		fmt.Fprintf(w, "%-8d %10.1f %11.2fs %11.2fs %6.2f× %12.0f %12.0f %14.0f %11.2fs", x.N, float64(x.Bytes)/1e6, x.BareSeconds, x.LoketSeconds,
			x.Ratio, x.BarePerSecond, x.LoketPerSecond, x.BytesPerTicket, x.LoketCPUSeconds)
		if x.Runs > 1 {
			fmt.Fprintf(w, "   median of %d runs, %.2f×–%.2f×", x.Runs, x.RatioMin, x.RatioMax)
		}
		fmt.Fprintln(w)
	}
	for _, l := range []*LatencyRun{r.Latency, r.Recheck} {
		if l == nil {
			continue
		}
		how := "IDLE"
		if l.IdleRecheck != "" {
			how = "IDLE, idle_recheck " + l.IdleRecheck
		}
		fmt.Fprintf(w, "\nAPPEND → confirmation accepted (%s), %d messages one every %s: p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms\n",
			how, l.M, l.Every, l.P50, l.P95, l.P99, l.Max)
	}
	if m := r.Memory; m != nil {
		fmt.Fprintf(w, "\n%d messages of %d MB among %d small ones: peak RSS %.0f MB (VmHWM of the intake process; at most %.0f MB anonymous and %.0f MB mapped files; at the end %.0f MB anonymous, %.0f MB mapped files), %.1f s\n",
			m.Big, m.BigMB, m.Small, m.PeakRSSMB, m.PeakAnonMB, m.PeakFileMB, m.EndAnonMB, m.EndFileMB, m.Seconds)
	}
	if b := r.BigStore; b != nil {
		fmt.Fprintf(w, "\n%d tickets: open store and start %.1f ms, first list %.1f ms (builds the index's summaries), then the words for search %.1f ms; "+
			"GET /api/v1/tickets?state=new (%d match) %.1f ms, ?state=closed (none) %.1f ms; %.0f bytes per ticket\n",
			b.Tickets, b.StartupMS, b.FirstListMS, b.IndexWordsMS, b.Listed, b.ListMS, b.ListNoneMS, b.BytesPerTicket)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

// memoryRun fills a mailbox with 1 000 small messages and 10 with a 25 MB
// attachment among them, and runs Loket's import-silent intake of it in a
// child process (this program with -child-intake), whose VmHWM is the
// intake's peak RSS and nothing else's.
func memoryRun(ctx context.Context, dc *mailtest.Dovecot, dir string, corpus [][]byte) (MemoryRun, error) {
	r := MemoryRun{Small: 1000, Big: 10, BigMB: 25}
	var mixed [][]byte
	big := bigMessage(r.BigMB << 20)
	for i := range r.Small + r.Big {
		if i%(r.Small/r.Big+1) == 50 {
			mixed = append(mixed, big)
		} else {
			mixed = append(mixed, corpus[i%len(corpus)])
		}
	}
	if _, err := fillMaildir(dc, dir, "mem", len(mixed), mixed); err != nil {
		return r, err
	}
	if _, _, err := bareFetch(dc, "mem"); err != nil { // Dovecot's indexing, not measured
		return r, err
	}
	self, err := os.Executable()
	if err != nil {
		return r, err
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, self, "-child-intake", dc.Addr(), "mem", filepath.Join(dir, "mem.db"))
	cmd.Stderr = os.Stderr
	outb, err := cmd.Output()
	if err != nil {
		return r, fmt.Errorf("child: %w", err)
	}
	r.Seconds = time.Since(start).Seconds()
	var got struct {
		Handled       int64   `json:"handled"`
		VmHWMKB       float64 `json:"vmhwm_kb"`
		PeakRssAnonKB float64 `json:"peak_rss_anon_kb"`
		PeakRssFileKB float64 `json:"peak_rss_file_kb"`
		RssAnonKB     float64 `json:"rss_anon_kb"`
		RssFileKB     float64 `json:"rss_file_kb"`
	}
	if err := json.Unmarshal(outb, &got); err != nil {
		return r, fmt.Errorf("child said %q: %w", outb, err)
	}
	if got.Handled != int64(len(mixed)) {
		return r, fmt.Errorf("child handled %d of %d", got.Handled, len(mixed))
	}
	r.PeakRSSMB = got.VmHWMKB / 1024
	r.PeakAnonMB, r.PeakFileMB = got.PeakRssAnonKB/1024, got.PeakRssFileKB/1024
	r.EndAnonMB, r.EndFileMB = got.RssAnonKB/1024, got.RssFileKB/1024
	return r, nil
}

// bigMessage is a request with a base64 attachment of about n bytes.
func bigMessage(n int) []byte {
	var b strings.Builder
	b.WriteString("From: Aanvrager <groot@swv.example>\r\nTo: " + deskAddress + "\r\nSubject: Plannen voor de clinic\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Wij willen graag een clinic aanvragen; de plannen zitten in de bijlage.\r\n--b1\r\n" +
		"Content-Type: application/pdf; name=\"plannen.pdf\"\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"plannen.pdf\"\r\n\r\n")
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 3)[:76] + "\r\n"
	for b.Len() < n {
		b.WriteString(line)
	}
	b.WriteString("--b1--\r\n")
	return []byte(b.String())
}

// childIntake is the child of memoryRun: the intake of one mailbox into a
// new store, then its handled count and VmHWM as JSON on out.
func childIntake(ctx context.Context, addr, user, store string, out io.Writer) error {
	l, err := newLoket(store)
	if err != nil {
		return err
	}
	defer l.st.Close()
	host, portStr, _ := strings.Cut(addr, ":")
	port, _ := strconv.Atoi(portStr)
	p := intake.NewPoller(intake.MailboxConfig{Name: "ondersteuning", Address: deskAddress, Host: host, Port: port,
		TLS: "none", Username: user, Password: password, PollInterval: time.Hour, InitialSync: intake.InitialSyncImportSilent},
		l.svc, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	var peakAnon, peakFile float64
	for tick := 0; p.Status().LastPoll.IsZero(); tick++ {
		select {
		case err := <-errc:
			return fmt.Errorf("poller stopped: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
		if tick%2 == 0 {
			if kb, err := procStatus(); err == nil {
				peakAnon, peakFile = max(peakAnon, kb["RssAnon"]), max(peakFile, kb["RssFile"])
			}
		}
	}
	cancel()
	<-errc
	kb, err := procStatus()
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(map[string]any{"handled": p.Status().Handled, "vmhwm_kb": kb["VmHWM"],
		"peak_rss_anon_kb": max(peakAnon, kb["RssAnon"]), "peak_rss_file_kb": max(peakFile, kb["RssFile"]),
		"rss_anon_kb": kb["RssAnon"], "rss_file_kb": kb["RssFile"]})
}

// procStatus reads the kB figures of /proc/self/status (VmHWM, RssAnon,
// RssFile, …).
func procStatus() (map[string]float64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	kb := map[string]float64{}
	for _, line := range strings.Split(string(status), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(v, "kB") {
			kb[k], _ = strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
		}
	}
	return kb, nil
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
