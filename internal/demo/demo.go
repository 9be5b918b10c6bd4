package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Options configure one run.
type Options struct {
	Root       string    // repository root: go.mod, functions/, examples/, node_modules/
	Executable string    // the shipped plsgate binary, started with `serve` (plsgate-dev demo --plsgate)
	Out        io.Writer // the story, one line per step
	// Keep leaves everything running after the story until ctx ends
	// (DEMO_KEEP=1), firing the Reconcile timer on its schedule like the host.
	Keep bool
	// WaitTimeout bounds each wait for the emulators and plsgate; default 30s.
	WaitTimeout time.Duration
}

// Failure is a failed expectation or start-up problem; LogDir holds the logs
// (kept for inspection).
type Failure struct {
	Err    error
	LogDir string
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// Run starts everything, plays the story and stops everything it started.
// A failed expectation is a *Failure; an interrupted run returns ctx's error.
func Run(ctx context.Context, o Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = 30 * time.Second
	}
	began := time.Now()
	p := &printer{w: o.Out}
	p.title("plsgate demo: a Web PubSub shared private endpoint to a Private Link Service, approved by policy — everything emulated on loopback")
	s, err := start(ctx, o, p)
	if err != nil {
		if ctx.Err() != nil {
			p.info("interrupted: stopped everything the demo started")
			return ctx.Err()
		}
		if s != nil {
			return &Failure{Err: err, LogDir: s.dir}
		}
		return &Failure{Err: err}
	}
	st, err := newStory(s, p, o.WaitTimeout)
	if err == nil {
		err = st.play(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			s.stop(false)
			p.info("interrupted: stopped everything the demo started")
			return ctx.Err()
		}
		s.stop(true)
		return &Failure{Err: err, LogDir: s.dir}
	}
	if o.Keep {
		if err := st.keep(ctx); err != nil {
			if ctx.Err() != nil {
				s.stop(false)
				p.info("interrupted: stopped everything the demo started")
				return ctx.Err()
			}
			s.stop(true)
			return &Failure{Err: err, LogDir: s.dir}
		}
		keepAlive(ctx, s)
	}
	s.stop(false)
	p.info("stopped everything the demo started; all expectations met (%s)", time.Since(began).Round(100*time.Millisecond))
	return nil
}

func (o *Options) validate() error {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Executable == "" {
		return errors.New("demo: no plsgate executable to start")
	}
	for _, rel := range []string{"go.mod", "functions", policyRel} {
		if _, err := os.Stat(filepath.Join(o.Root, filepath.FromSlash(rel))); err != nil {
			return fmt.Errorf("demo: %s is not the plsgate repository (no %s): run it from the repository root", o.Root, rel)
		}
	}
	return nil
}

// printer writes the story.
type printer struct{ w io.Writer }

func (p *printer) title(s string) { fmt.Fprintln(p.w, s) }

func (p *printer) component(role, what, url string) {
	fmt.Fprintf(p.w, "  %-15s %-41s %s\n", role, url, what)
}

// step prints one step's line: "a. …".
func (p *printer) step(letter, format string, args ...any) {
	fmt.Fprintf(p.w, "%s. %s\n", letter, fmt.Sprintf(format, args...))
}

// detail continues the previous line.
func (p *printer) detail(format string, args ...any) {
	fmt.Fprintf(p.w, "   %s\n", fmt.Sprintf(format, args...))
}

func (p *printer) info(format string, args ...any) { fmt.Fprintf(p.w, format+"\n", args...) }
