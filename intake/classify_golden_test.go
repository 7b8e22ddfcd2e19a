package intake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// classifyGoldenFile holds, per test mail and mailbox prior, a hash of the
// whole Classification (kind, type, confidence, candidates and every
// reason). It pins the classifier's output while its speed is worked on:
// a faster classifier must decide exactly the same. Run with -update after
// a deliberate change to the rules.
const classifyGoldenFile = "testdata/classify/golden.json"

// classifyGoldenDirs are read when present; the shared corpus is absent
// outside the project's machines.
var classifyGoldenDirs = []string{
	"../../shared/corpus/samples",
	"../../shared/corpus/realworld",
	"testdata/classify/extra",
	"testdata/classify/heldout",
	"testdata/classify/quote",
	"testdata/parse",
}

func TestClassifyGolden(t *testing.T) {
	c, err := NewClassifier(ClassifierConfig{Prefix: "PO", OwnAddresses: testOwnAddresses,
		ExtraTerms: map[Type][]Term{TypeClinic: {{Phrase: "teamdag*", Weight: 1.5}}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, dir := range classifyGoldenDirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			if st, err := os.Stat(f); err != nil || st.IsDir() || strings.HasSuffix(f, ".tsv") || strings.HasSuffix(f, ".golden") {
				continue
			}
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m := Parse(raw)
			for _, prior := range []Type{"", TypePraktijktoets} {
				b, err := json.Marshal(c.Classify(m, prior, nil))
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(b)
				got[filepath.ToSlash(f)+"|"+string(prior)] = hex.EncodeToString(sum[:8])
			}
		}
	}
	if updateGolden() {
		b, _ := json.MarshalIndent(got, "", "\t")
		if err := os.WriteFile(classifyGoldenFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(classifyGoldenFile)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	var want map[string]string
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	n := 0
	for _, k := range keys {
		w, ok := want[k]
		if !ok {
			t.Errorf("%s: not in %s (run with -update after checking)", k, classifyGoldenFile)
			continue
		}
		n++
		if got[k] != w {
			t.Errorf("%s: classification differs from %s", k, classifyGoldenFile)
		}
	}
	t.Logf("%d classifications compared", n)
}
