package workflow

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestAppendShortFloat: the short path of appendJSONFloat writes what the
// general one (strconv's shortest digits) writes, on decimals of up to six
// places, on random floats and on the edges, and takes the values it is
// for.
func TestAppendShortFloat(t *testing.T) {
	general := func(f float64) string {
		format := byte('f')
		if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
			format = 'e'
		}
		s := strconv.FormatFloat(f, format, -1, 64)
		if n := len(s); format == 'e' && n >= 4 && s[n-4] == 'e' && s[n-3] == '-' && s[n-2] == '0' {
			s = s[:n-2] + s[n-1:]
		}
		return s
	}
	check := func(f float64) bool {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
		got, err := appendJSONFloat(nil, f)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		if want := general(f); string(got) != want {
			t.Fatalf("%v (%b): got %s, want %s", f, math.Float64bits(f), got, want)
		}
		_, short := appendShortFloat(nil, f)
		return short
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 0.1, 0.3, 0.69, 0.04, 21, 1e-4, 1e-5, 1e-7, 1e-6,
		0.00015, 999999999.9999, 999999999.99995, 1e9, 1e9 - 1, -1e9 + 0.5, 1e21, 1e22, 123456.7891, 0.1 + 0.2,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 4.35, 2.675, 1.005, 0.045, 5e-324, math.Nextafter(0.3, 1)} {
		check(f)
	}
	r := rand.New(rand.NewPCG(3, 4))
	shorts := 0
	for range 200000 {
		places := r.IntN(7)
		n := r.Int64N(int64(math.Pow10(r.IntN(13))) + 1)
		f := float64(n) / math.Pow10(places)
		if r.IntN(2) == 0 {
			f = -f
		}
		if check(f) {
			shorts++
		}
		check(math.Float64frombits(r.Uint64()))
		check(r.Float64() * math.Pow10(r.IntN(12)))
		check(math.Nextafter(f, math.Inf(1)))
	}
	if !check(0.69) || !check(-4) || !check(0.3) || shorts < 50000 {
		t.Fatalf("short path not taken (%d times)", shorts)
	}
}
