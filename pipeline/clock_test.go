package pipeline

import (
	"testing"
	"time"
)

// TestScaledClock: a clock 50 times the wall clock sleeps a fiftieth of
// what it is asked and tells a time that has moved 50 times as far.
func TestScaledClock(t *testing.T) {
	c := NewScaledClock(50)
	t0, w0 := c.Now(), time.Now()
	if err := c.Sleep(t.Context(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	wall, simulated := time.Since(w0), c.Now().Sub(t0)
	if wall < 100*time.Millisecond || wall > 2*time.Second {
		t.Errorf("Sleep(5s) took %s of wall time, want 100ms", wall)
	}
	if ratio := float64(simulated) / float64(wall); ratio < 45 || ratio > 55 {
		t.Errorf("the clock moved %s in %s of wall time: %.1f times, want 50", simulated, wall, ratio)
	}
}
