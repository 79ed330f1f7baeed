package gpu

// SetIfElseFrom sets the first driver version whose IF nodes get an else
// body (so that tests run both forms of the assembled graph) and returns a
// function that restores it.
func SetIfElseFrom(v int) (restore func()) {
	old := ifElseFrom
	ifElseFrom = v
	return func() { ifElseFrom = old }
}

// SetMaxGrid caps grid-stride launches at n blocks (1: every grid-stride
// loop must go round) and returns a function that restores the cap.
func SetMaxGrid(n int) (restore func()) {
	old := maxGrid
	maxGrid = n
	return func() { maxGrid = old }
}

// SetStagingSize sets the pinned staging buffer's size for Backends that
// upload for the first time afterwards, and returns a function that
// restores it.
func SetStagingSize(bytes int) (restore func()) {
	old := stagingSize
	stagingSize = bytes
	return func() { stagingSize = old }
}
