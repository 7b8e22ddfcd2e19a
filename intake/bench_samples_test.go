package intake

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleMails reads the sample corpus (or, without it, our own test
// mail) for the throughput benchmarks.
func sampleMails(b *testing.B) [][]byte {
	b.Helper()
	var out [][]byte
	for _, dir := range []string{classifySamplesDir, classifyExtraDir, classifyHeldoutDir} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			if strings.HasSuffix(f, ".tsv") {
				continue
			}
			raw, err := os.ReadFile(f)
			if err == nil {
				out = append(out, raw)
			}
		}
		if len(out) > 0 && dir == classifySamplesDir {
			break
		}
	}
	if len(out) == 0 {
		b.Skip("no sample mail")
	}
	return out
}

// BenchmarkParseSamples parses the sample mails, one message per
// iteration; msgs/s is per goroutine, i.e. per core.
func BenchmarkParseSamples(b *testing.B) {
	mails := sampleMails(b)
	n := 0
	for b.Loop() {
		Parse(mails[n%len(mails)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkClassifySamples classifies the parsed sample mails, one per
// iteration.
func BenchmarkClassifySamples(b *testing.B) {
	c := newTestClassifier(b)
	var msgs []*Message
	for _, raw := range sampleMails(b) {
		msgs = append(msgs, Parse(raw))
	}
	n := 0
	for b.Loop() {
		c.Classify(msgs[n%len(msgs)], TypePraktijktoets, nil)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}
