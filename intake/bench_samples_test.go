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

// BenchmarkClassifyNewSamples classifies the new requests of the sample
// corpus (manifest kind "new"), one per iteration, as loket-bench's intake
// does: the "ondersteuning" mailbox without a prior and the desk's one
// address.
func BenchmarkClassifyNewSamples(b *testing.B) {
	manifest, err := os.ReadFile(filepath.Join(classifySamplesDir, "manifest.tsv"))
	if err != nil {
		b.Skip("no sample corpus")
	}
	var msgs []*Message
	for line := range strings.SplitSeq(string(manifest), "\n") {
		if f := strings.Split(line, "\t"); len(f) > 2 && f[2] == "new" {
			raw, err := os.ReadFile(filepath.Join(classifySamplesDir, f[0]))
			if err != nil {
				b.Fatal(err)
			}
			msgs = append(msgs, Parse(raw))
		}
	}
	c, err := NewClassifier(ClassifierConfig{Prefix: "PO", OwnAddresses: []string{"ondersteuningpassendonderwijs@poraad.nl"}})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		c.Classify(msgs[n%len(msgs)], "", nil)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}
