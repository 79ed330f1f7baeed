package data

import (
	"fmt"
	"io"
	"time"
)

// progressBar is an io.Writer that counts bytes and redraws one line
// ("name  12.3 MB / 162.0 MB  7%  8.1 MB/s") at most five times a second.
type progressBar struct {
	out         io.Writer
	name        string
	done, total int64 // total < 0: unknown
	resumed     int64 // bytes that were already there, not counted in the speed
	start, last time.Time
}

func newProgressBar(out io.Writer, name string, have, total int64) *progressBar {
	now := time.Now()
	return &progressBar{out: out, name: name, done: have, resumed: have, total: total, start: now}
}

func (p *progressBar) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if now := time.Now(); now.Sub(p.last) >= 200*time.Millisecond {
		p.last = now
		p.draw()
	}
	return len(b), nil
}

func (p *progressBar) draw() {
	const mb = 1e6
	secs := time.Since(p.start).Seconds()
	speed := 0.0
	if secs > 0 {
		speed = float64(p.done-p.resumed) / mb / secs
	}
	if p.total > 0 {
		fmt.Fprintf(p.out, "\r%s  %.1f MB / %.1f MB  %3d%%  %.1f MB/s ", p.name,
			float64(p.done)/mb, float64(p.total)/mb, p.done*100/p.total, speed)
	} else {
		fmt.Fprintf(p.out, "\r%s  %.1f MB  %.1f MB/s ", p.name, float64(p.done)/mb, speed)
	}
}

// finish draws the last state and ends the line.
func (p *progressBar) finish() {
	p.draw()
	fmt.Fprintln(p.out)
}
