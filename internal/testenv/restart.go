package testenv

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/armemu"
)

// RestartOptions shape the plsgate instance that Restart starts.
type RestartOptions struct {
	// Settings override the current app settings; an empty value removes one
	// (its default applies).
	Settings map[string]string
	// Deps are passed to app.New (the Tables transport is always the counter).
	Deps app.Deps
}

// Restart replaces the running plsgate (app, handler and host emulator) by a
// new one built from the current settings with o.Settings applied — e.g.
// another PLSGATE_POLICY, DRIFT_MODE or RECONCILE_TIME_BUDGET — as a redeploy
// with a new configuration does. The ARM emulator, Azurite and the Table
// prefix stay, so the new instance sees everything the old one recorded. When
// the emulator's events were wired, they are delivered to the new host.
func (e *Env) Restart(t testing.TB, o RestartOptions) {
	t.Helper()
	settings := maps.Clone(e.Settings)
	for k, v := range o.Settings {
		if v == "" {
			delete(settings, k)
			continue
		}
		settings[k] = v
	}
	e.startPlsgate(t, settings, o.Deps, e.ARM.EventOptions().SinkURL != "", "")
}

// TickErr fires the Reconcile timer like Tick but returns the invocation's
// failure instead of failing the test: a tick that could not finish (ARM
// faults, a partial scan with errors) is an expected outcome in some tests.
func (e *Env) TickErr(t testing.TB) error {
	t.Helper()
	return e.Host.FireTimer(context.Background(), app.FunctionTimer, false)
}

// SetARMLatency makes every ARM operation of the emulator take d (0 = none).
// It replaces any fault configuration (armemu.Emulator.SetFaults).
func (e *Env) SetARMLatency(t testing.TB, d time.Duration) {
	t.Helper()
	var f armemu.Faults
	if d > 0 {
		f.Rules = []armemu.FaultRule{{Operation: "*", Latency: armemu.Duration(d)}}
	}
	if err := e.ARM.SetFaults(f); err != nil {
		t.Fatalf("ARM latency: %v", err)
	}
}

// Getenv reads the environment's app settings (for running CLI commands in-process).
func (e *Env) Getenv(name string) string { return e.Settings[name] }
