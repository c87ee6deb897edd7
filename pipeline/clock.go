package pipeline

import (
	"context"
	"time"
)

// Clock tells the time and sleeps. Wait uses it for its intervals and its
// deadline; tests substitute a simulated clock.
type Clock interface {
	Now() time.Time
	// Sleep pauses for d or until ctx is done, returning ctx.Err() then.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ScaledClock runs scale times as fast as the wall clock from its
// creation, as a simulator with a time scale does: a rehearsal's deploy
// polls, bakes and times out in the simulator's time.
type ScaledClock struct {
	start time.Time
	scale float64
}

// NewScaledClock returns a clock running scale times as fast as the wall
// clock, starting at the wall clock's now.
func NewScaledClock(scale float64) *ScaledClock {
	return &ScaledClock{start: time.Now(), scale: scale}
}

// Now returns the start plus the wall time since, times the scale.
func (c *ScaledClock) Now() time.Time {
	return c.start.Add(time.Duration(float64(time.Since(c.start)) * c.scale))
}

// Sleep waits d divided by the scale.
func (c *ScaledClock) Sleep(ctx context.Context, d time.Duration) error {
	return SystemClock{}.Sleep(ctx, time.Duration(float64(d)/c.scale))
}
