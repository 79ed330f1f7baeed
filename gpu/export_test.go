package gpu

// SetIfElseFrom sets the first driver version whose IF nodes get an else
// body (so that tests run both forms of the assembled graph) and returns a
// function that restores it.
func SetIfElseFrom(v int) (restore func()) {
	old := ifElseFrom
	ifElseFrom = v
	return func() { ifElseFrom = old }
}
