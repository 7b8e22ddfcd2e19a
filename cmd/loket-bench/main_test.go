package main

import "testing"

func TestMedianRun(t *testing.T) {
	runs := func(ratios ...float64) []IntakeRun {
		var rs []IntakeRun
		for i, r := range ratios {
			rs = append(rs, IntakeRun{N: i, Ratio: r})
		}
		return rs
	}
	tests := []struct {
		name string
		runs []IntakeRun
		want IntakeRun
	}{
		{"one run is itself", runs(2.5), IntakeRun{N: 0, Ratio: 2.5}},
		{"odd", runs(3.1, 2.4, 2.8), IntakeRun{N: 2, Ratio: 2.8, Runs: 3, RatioMin: 2.4, RatioMax: 3.1}},
		{"even takes the lower middle", runs(3.0, 2.0, 4.0, 2.5), IntakeRun{N: 3, Ratio: 2.5, Runs: 4, RatioMin: 2.0, RatioMax: 4.0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := medianRun(tc.runs); got != tc.want {
				t.Errorf("medianRun = %+v, want %+v", got, tc.want)
			}
		})
	}
}
