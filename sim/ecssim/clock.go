package ecssim

import (
	"sync"
	"time"
)

// Clock is the simulated timeline. Task start-up, health checks and
// draining are scheduled on it, and every timestamp the simulator reports
// comes from it.
type Clock interface {
	// Now returns the current simulated time.
	Now() time.Time
	// Advance moves simulated time forward by d.
	Advance(d time.Duration)
}

// scaledClock runs scale times faster than the wall clock.
type scaledClock struct {
	mu     sync.Mutex
	start  time.Time // wall time when the clock was made
	scale  float64
	offset time.Duration // added by Advance
}

// NewScaledClock returns a clock that starts at the current wall time and
// runs scale times as fast: with scale 600, a simulated five-minute
// deployment takes half a second. Advance jumps it forward.
func NewScaledClock(scale float64) Clock {
	if scale <= 0 {
		scale = 1
	}
	return &scaledClock{start: time.Now(), scale: scale}
}

func (c *scaledClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	elapsed := time.Since(c.start)
	return c.start.Add(time.Duration(float64(elapsed)*c.scale) + c.offset).UTC()
}

func (c *scaledClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// ManualClock is a clock that moves only when told to, for deterministic
// tests.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock stopped at start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start.UTC()}
}

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
