package gpu

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenTouchesOnlyItsDevice, on the simulator with four devices:
// default, exclusive-process held by another process, prohibited, and
// default again.
// Open(0) must work and make a context on device 0 only: listing devices
// must neither retain nor create a context on a device deepres does not
// open (a busy exclusive-process GPU would fail it, and every process would
// take context memory on every GPU of a shared machine). The simulator reads
// its devices once per process, so the check runs in a child process.
func TestOpenTouchesOnlyItsDevice(t *testing.T) {
	if os.Getenv("DEEPRES_TEST_DEVICES_CHILD") == "1" {
		openDeviceZero(t)
		return
	}
	devs, err := ListDevices()
	skipNoGPU(t, err)
	if err != nil {
		t.Fatal(err)
	}
	if devs[0].Name != "cudasim (CPU simulator)" {
		t.Skip("the devices and compute modes of this check are the simulator's (CUDASIM_DEVICES)")
	}
	stats := filepath.Join(t.TempDir(), "stats.json")
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenTouchesOnlyItsDevice$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "DEEPRES_TEST_DEVICES_CHILD=1", "CUDASIM_STATS="+stats, "CUDASIM_DEVICES=4",
		"CUDASIM_COMPUTE_MODES=default,exclusive-process,prohibited,default", "CUDASIM_BUSY=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("Open(0) beside a busy and a prohibited device: %v\n%s", err, out)
	}
	data, err := os.ReadFile(stats)
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Counters map[string]int64 }
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	for dev, want := range []int64{1, 0, 0, 0} {
		k := "contexts_created:dev" + string(rune('0'+dev))
		if got, ok := s.Counters[k]; !ok || got != want {
			t.Errorf("%s = %d (present: %v), want %d", k, got, ok, want)
		}
	}
}

// openDeviceZero is the child's part: Open(0), list the devices with the
// backend open, run one step of work, close.
func openDeviceZero(t *testing.T) {
	b, err := Open(0, Options{Math: FP32})
	if err != nil {
		t.Fatal(err)
	}
	defer closeOK(t, b)
	devs, err := ListDevices()
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 4 {
		t.Fatalf("%d devices, want 4", len(devs))
	}
	for i, want := range []string{"default", "exclusive-process", "prohibited", "default"} {
		if devs[i].ComputeMode != want {
			t.Errorf("device %d: compute mode %q, want %q", i, devs[i].ComputeMode, want)
		}
	}
	// Free memory is known only where deepres holds a context: device 0.
	if f := devs[0].FreeMemory; f <= 0 || f > devs[0].TotalMemory {
		t.Errorf("device 0: free memory %d of %d", f, devs[0].TotalMemory)
	}
	for _, d := range devs[1:] {
		if d.FreeMemory != -1 {
			t.Errorf("device %d: free memory %d, want -1 (unknown without a context)", d.Ordinal, d.FreeMemory)
		}
	}
	for dev, want := range map[int]string{1: "CUDA_ERROR_DEVICE_UNAVAILABLE", 2: "prohibited"} {
		if _, err := Open(dev, Options{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%d) = %v, want an error naming %s", dev, err, want)
		}
	}
	x := mustAlloc(t, b, []int{4})
	b.Fill(x, 1)
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	b.Free(x)
}
