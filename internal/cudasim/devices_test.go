package cudasim

import "testing"

// Several devices with compute modes (testdata/simcheck_devices.c): the
// attribute reports each mode, a prohibited device refuses a context, an
// exclusive-process device another process holds is unavailable, and the
// stats file counts the contexts made on each device.
func TestDevices(t *testing.T) {
	needBuild(t)
	env := []string{"CUDASIM_DEVICES=3", "CUDASIM_COMPUTE_MODES=default,exclusive-process,prohibited"}
	t.Run("free", func(t *testing.T) {
		countsAre(t, "devices", map[string]uint64{"contexts_created:dev0": 1, "contexts_created:dev1": 1, "contexts_created:dev2": 0}, env...)
	})
	t.Run("busy", func(t *testing.T) {
		env := append(env, "CUDASIM_BUSY=1")
		runExpecting(t, "devices_busy", env, []string{"device 2 is in CU_COMPUTEMODE_PROHIBITED", "device 1 is in CU_COMPUTEMODE_EXCLUSIVE_PROCESS"})
		countsAre(t, "devices_busy", map[string]uint64{"contexts_created:dev0": 1, "contexts_created:dev1": 0, "contexts_created:dev2": 0}, env...)
	})
}
