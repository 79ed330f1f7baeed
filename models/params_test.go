package models

import "testing"

// The counts of docs/design.md, counted independently of this code.
func TestParamCounts(t *testing.T) {
	for _, tc := range []struct {
		name string
		want int
	}{
		{"resnet-20", 269722},
		{"resnet-56", 853018},
		{"resnet-110", 1727962},
		{"resnet-1202", 19421274},
		{"preact-resnet-110", 1727962},
		{"preact-resnet-164", 1703258},
		{"preact-resnet-1001", 10327706},
		{"wrn-40-4", 8949210},
		{"wrn-28-10", 36479194},
		{"wrn-40-2", 2243546},
		{"wrn-58-4", 13599450},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			net, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := net.Params.Count(); got != tc.want {
				t.Errorf("%s has %d parameters, want %d", tc.name, got, tc.want)
			}
		})
	}
}
