package intake

import (
	"os"
	"path/filepath"
	"testing"
)

// classifyHeldoutDir holds mail written apart from the rules and never
// tuned on file by file: the measure of how the classifier does on mail it
// has not seen. Same manifest format as the samples.
const classifyHeldoutDir = "testdata/classify/heldout"

func TestClassifyCorpusHeldout(t *testing.T) {
	if _, err := os.Stat(filepath.Join(classifyHeldoutDir, "manifest.tsv")); err != nil {
		t.Skipf("held-out corpus not present: %v", err)
	}
	s := runClassifyCorpus(t, "heldout", classifyHeldoutDir)
	s.log(t)
	s.checkBars(t)
}
