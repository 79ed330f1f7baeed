package train

import (
	"slices"
	"testing"
)

func TestSplitOverrides(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want [][2]string
		ok   bool
	}{
		{[]string{"lr=0.05"}, [][2]string{{"lr", "0.05"}}, true},
		{[]string{"warmup-steps=500,warmup-lr=0.01"}, [][2]string{{"warmup-steps", "500"}, {"warmup-lr", "0.01"}}, true},
		{[]string{"lr-schedule=step:0.5,0.75", "lr=0.01"}, [][2]string{{"lr-schedule", "step:0.5,0.75"}, {"lr", "0.01"}}, true},
		{[]string{"wd=0"}, nil, false},
		{[]string{"0.5"}, nil, false},
		{[]string{"lr"}, nil, false},
	} {
		got, err := SplitOverrides(tc.in)
		if (err == nil) != tc.ok || (tc.ok && !slices.Equal(got, tc.want)) {
			t.Errorf("%q: got %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestApplyOverrideRecords(t *testing.T) {
	c := Default()
	if err := c.ApplyOverride("lr", "0.05", 120); err != nil {
		t.Fatal(err)
	}
	if err := c.ApplyOverride("lr-schedule", "multistep:200,300", 120); err != nil {
		t.Fatal(err)
	}
	want := []Override{{120, "lr", "0.05"}, {120, "lr-schedule", "multistep:200,300"}}
	if c.LR != 0.05 || c.Schedule.String() != "multistep:200,300" || !slices.Equal(c.Overrides, want) {
		t.Errorf("after overrides: lr %g, schedule %s, recorded %v", c.LR, c.Schedule, c.Overrides)
	}
	for _, bad := range [][2]string{{"lr", "NaN"}, {"lr", "-1"}, {"warmup-lr", "+Inf"}, {"warmup-steps", "-3"}, {"lr-schedule", "step:0.8,0.2"}, {"momentum", "0.5"}} {
		if err := c.ApplyOverride(bad[0], bad[1], 0); err == nil {
			t.Errorf("override %s=%s accepted", bad[0], bad[1])
		}
	}
	if len(c.Overrides) != 2 {
		t.Errorf("refused overrides were recorded: %v", c.Overrides)
	}
}

func TestLengthIssues(t *testing.T) {
	c := Default()
	c.Steps, c.WarmupSteps = 100, 100
	c.Schedule, _ = ParseSchedule("multistep:50,100,3e")
	warm, miles := c.LengthIssues(100, 40)
	if warm == "" || miles != "the schedule's milestones 100, 3e (step 120) are at or after the run's end (100 steps)" {
		t.Errorf("warm-up %q, milestones %q", warm, miles)
	}
	c.WarmupSteps = 99
	c.Schedule, _ = ParseSchedule("multistep:50,99,2e")
	if warm, miles := c.LengthIssues(100, 40); warm != "" || miles != "" {
		t.Errorf("a fitting run: warm-up %q, milestones %q", warm, miles)
	}
	c.Steps, c.Epochs = 0, 1<<40
	if _, err := c.TotalSteps(391); err == nil {
		t.Errorf("--epochs 2^40 of 391 steps: no error")
	}
}
