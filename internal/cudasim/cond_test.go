package cudasim

import "testing"

// Conditional graph nodes (testdata/simcheck_cond.c): IF bodies run as a
// kernel of the launch decides, and what the driver refuses is refused,
// with the stderr note naming what was wrong.
func TestConditionalNodes(t *testing.T) {
	needBuild(t)
	for _, tc := range []struct {
		name       string
		wantStderr []string
	}{
		{name: "cond_if"},
		{name: "cond_else"},
		{name: "cond_default"},
		{name: "cond_unset", wantStderr: []string{"CUDA_ERROR_ILLEGAL_STATE", "conditional read before cudaGraphSetConditional set it in this launch"}},
		{name: "cond_set_eager", wantStderr: []string{"cuLaunchKernel(set_conds)", "outside any graph"}},
		{name: "cond_set_foreign", wantStderr: []string{"cuLaunchKernel(set_conds)", "not a conditional handle of the graph being launched"}},
		{name: "cond_errors", wantStderr: []string{
			"not a conditional handle created for this graph", "(only IF)", "already used by another conditional node",
			"only a chain", "owned by CUDA", "cannot be used in a child node", "CONDITIONAL_HANDLE_UNUSED",
			"Only one instantiation", "only kernel, memset and memcpy nodes"}},
		{name: "child_clone"},
		{name: "cond_body_forbidden", wantStderr: []string{"a conditional body holds a node of type 3 (cuLaunchHostFunc)"}},
	} {
		t.Run(tc.name, func(t *testing.T) { runExpecting(t, tc.name, nil, tc.wantStderr) })
	}
}

// Only the kernels of bodies that ran are counted as run; the counters tell
// taken and skipped conditionals apart, and the new entry points are API
// calls like any other.
func TestConditionalStats(t *testing.T) {
	needBuild(t)
	// cond_if launches [setter, 2 kernels, IF(1 kernel), 1 kernel, IF(1
	// kernel)] 4 times with the flags (1,1), (0,1), (1,0), (0,0): 4 x 4
	// kernels always, 4 of the 8 bodies.
	countsAre(t, "cond_if", map[string]uint64{"kernels_run": 20, "conditional_taken": 4, "conditional_skipped": 4, "graph_launches": 4,
		"kernel_launches": 6})
	// cond_api makes 12 calls into the driver (counted in its source).
	countsAre(t, "cond_api", map[string]uint64{"api_calls": 12})
}
