package intake

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parseCorpusDir is the shared corpus (DOMAIN.md "Test data at hand"),
// relative to this package directory.
const parseCorpusDir = "../../shared/corpus"

// knownParseDifferences lists deliberate differences from a source's
// expectation in corpus/realworld/manifest.tsv, keyed "file:field". They
// still count as misses.
var knownParseDifferences = map[string]string{
	"zammad-mail087.eml:from": `"From: Test test@example.com" lacks angle brackets; Zammad keeps the whole phrase as the address, Loket takes the word with '@' (test@example.com) and "Test" as the name`,
}

// parseManifestRow is one line of a corpus manifest.tsv, by column name.
type parseManifestRow map[string]string

// readParseManifest reads a manifest.tsv: a header line, then one row per
// file, fields split on TAB only.
func readParseManifest(t *testing.T, path string) []parseManifestRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open manifest: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cols []string
	var rows []parseManifestRow
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		fields := strings.Split(line, "\t")
		if cols == nil {
			cols = fields
			continue
		}
		row := parseManifestRow{}
		for i, c := range cols {
			if i < len(fields) {
				row[c] = fields[i]
			}
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read manifest: %v", err)
	}
	return rows
}

// collapseSpace folds every run of white space into one space.
func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// bareAddress normalises an address for comparison: lower case, without
// quotes and angle brackets.
func bareAddress(s string) string {
	return strings.ToLower(strings.NewReplacer(`"`, "", "<", "", ">", "").Replace(strings.TrimSpace(s)))
}

// corpusFieldCount counts the expectations of one manifest field.
type corpusFieldCount struct {
	expected, met int
	misses        []string
}

func TestCorpusParseRealworld(t *testing.T) {
	dir := filepath.Join(parseCorpusDir, "realworld")
	if _, err := os.Stat(filepath.Join(dir, "manifest.tsv")); err != nil {
		t.Skipf("corpus not present: %v", err)
	}
	rows := readParseManifest(t, filepath.Join(dir, "manifest.tsv"))
	if len(rows) == 0 {
		t.Fatal("empty manifest")
	}

	counts := map[string]*corpusFieldCount{"from": {}, "subject": {}, "body_snippet": {}}
	check := func(file, field string, ok bool, detail string) {
		t.Helper()
		c := counts[field]
		c.expected++
		if ok {
			c.met++
			return
		}
		miss := file + ": " + detail
		if why, known := knownParseDifferences[file+":"+field]; known {
			miss += " (known: " + why + ")"
		}
		c.misses = append(c.misses, miss)
	}

	for _, row := range rows {
		file := row["file"]
		raw, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		m := Parse(raw)
		if m == nil {
			t.Errorf("%s: Parse returned nil", file)
			continue
		}
		checkParseInvariants(t, file, m)

		if want := row["from"]; want != "" && want != "-" {
			have := []string{bareAddress(m.From.Address)}
			for _, a := range parseAddressList(m.HeaderValue("Sender")) {
				have = append(have, bareAddress(a.Address))
			}
			ok := true
			for _, w := range strings.Split(want, ",") {
				found := false
				for _, h := range have {
					found = found || h == bareAddress(w)
				}
				ok = ok && found
			}
			check(file, "from", ok, "from: want "+want+", have "+strings.Join(have, " | "))
		}
		if want := row["subject"]; want != "" && want != "-" {
			ok := collapseSpace(m.Subject) == collapseSpace(want)
			check(file, "subject", ok, "subject: want "+want+", have "+m.Subject)
		}
		if want := row["body_snippet"]; want != "" && want != "-" {
			w := collapseSpace(want)
			ok := strings.Contains(collapseSpace(m.Text), w) ||
				strings.Contains(collapseSpace(htmlToText(m.HTML)), w) ||
				strings.Contains(collapseSpace(m.HTML), w) // enmime's snippets are sometimes markup
			check(file, "body_snippet", ok, "body: want "+want+", have "+truncateRunes(collapseSpace(m.Text), 120))
		}
	}

	var expected, met int
	for _, field := range []string{"from", "subject", "body_snippet"} {
		c := counts[field]
		expected += c.expected
		met += c.met
		t.Logf("%-12s %3d/%3d met (%.1f%%)", field, c.met, c.expected, percent(c.met, c.expected))
		for _, miss := range c.misses {
			t.Logf("  miss %s", miss)
		}
		if percent(c.met, c.expected) < 85 {
			t.Errorf("%s: only %.1f%% of expectations met, want at least 85%%", field, percent(c.met, c.expected))
		}
	}
	t.Logf("overall      %3d/%3d met (%.1f%%) over %d files", met, expected, percent(met, expected), len(rows))
	if percent(met, expected) < 90 {
		t.Errorf("overall only %.1f%% of expectations met, want at least 90%%", percent(met, expected))
	}
}

func percent(n, of int) float64 {
	if of == 0 {
		return 100
	}
	return 100 * float64(n) / float64(of)
}

func TestCorpusParseSamples(t *testing.T) {
	dir := filepath.Join(parseCorpusDir, "samples")
	files, err := filepath.Glob(filepath.Join(dir, "msg-*.eml"))
	if err != nil || len(files) == 0 {
		t.Skipf("corpus samples not present")
	}
	withProblems := 0
	for _, path := range files {
		file := filepath.Base(path)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := Parse(raw)
		checkParseInvariants(t, file, m)
		if m.Unparsed {
			t.Errorf("%s: unparsed", file)
		}
		if m.From.Address == "" {
			t.Errorf("%s: no From address", file)
		}
		if m.Subject == "" {
			t.Errorf("%s: no Subject", file)
		}
		if strings.TrimSpace(m.Text) == "" {
			t.Errorf("%s: no Text", file)
		}
		if len(m.Problems) > 0 {
			withProblems++
			t.Logf("%s: problems: %q", file, m.Problems)
		}
	}
	t.Logf("%d of %d samples have problems", withProblems, len(files))
	if withProblems*10 > len(files) {
		t.Errorf("%d of %d samples have problems, want at most 10%%", withProblems, len(files))
	}
}
