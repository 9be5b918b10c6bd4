package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/cli"
)

// lockedBuffer is a concurrency-safe stderr for a command running in a goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestARMEmulatorUsage(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(seed, []byte(`{"privateLinkService":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"flag help", []string{"arm-emulator", "-h"}, cli.ExitOK, "usage:"},
		{"bad flag", []string{"arm-emulator", "--nope"}, cli.ExitUsage, "flag provided but not defined"},
		{"extra args", []string{"arm-emulator", "x"}, cli.ExitUsage, "unexpected arguments"},
		{"not loopback", []string{"arm-emulator", "--addr", "0.0.0.0:0"}, cli.ExitUsage, "not a loopback address"},
		{"bad addr", []string{"arm-emulator", "--addr", "nope"}, cli.ExitUsage, "--addr"},
		{"bad schema", []string{"arm-emulator", "--event-schema", "xml"}, cli.ExitUsage, "event schema"},
		{"bad cross mode", []string{"arm-emulator", "--cross-subscription", "all"}, cli.ExitUsage, "cross-subscription"},
		{"bad page size", []string{"arm-emulator", "--page-size", "0"}, cli.ExitUsage, "--page-size"},
		{"missing seed", []string{"arm-emulator", "--seed", filepath.Join(t.TempDir(), "none.json")}, cli.ExitUsage, "load world"},
		{"seed with a typo", []string{"arm-emulator", "--seed", seed}, cli.ExitUsage, "unknown field"},
		{"bad generate", []string{"arm-emulator", "--generate", "10"}, cli.ExitUsage, "--generate"},
		{"seed and generate", []string{"arm-emulator", "--seed", seed, "--generate", "1,1"}, cli.ExitUsage, "exclusive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(context.Background(), cli.Env{Args: tc.args, Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}); got != tc.want {
				t.Fatalf("exit %d, want %d; stderr %s", got, tc.want, stderr.String())
			}
			if !strings.Contains(stdout.String()+stderr.String(), tc.msg) {
				t.Fatalf("output lacks %q:\nstdout %s\nstderr %s", tc.msg, stdout.String(), stderr.String())
			}
		})
	}
}

// TestDevARMEmulator starts the emulator from a seed file, reads the URL from
// the first stdout line, serves a real ARM request, and stops with ctx.
func TestARMEmulator(t *testing.T) {
	seed := filepath.Join("..", "..", "internal", "armemu", "testdata", "world.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, cli.Env{Args: []string{"arm-emulator", "--seed", seed, "--page-size", "1", "--event-schema", "cloudevents"}, Stdout: pw, Stderr: stderr})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("first line: %v (stderr %s)", err, stderr.String())
	}
	url := strings.TrimSpace(line)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("url %q", url)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	req, _ := http.NewRequest(http.MethodGet, url+"/subscriptions/11111111-1111-4111-8111-111111111111/providers/Microsoft.Network/privateLinkServices?api-version=2025-01-01", nil)
	req.Header.Set("Authorization", "Bearer dev")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Value    []json.RawMessage `json:"value"`
		NextLink string            `json:"nextLink"`
	}
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(page.Value) != 1 || page.NextLink == "" {
		t.Fatalf("list: %d %v %+v", resp.StatusCode, err, page)
	}
	resp, err = http.Get(url + "/_emulator/events")
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Options struct {
			Schema string `json:"schema"`
		} `json:"options"`
	}
	err = json.NewDecoder(resp.Body).Decode(&ev)
	resp.Body.Close()
	if err != nil || ev.Options.Schema != "cloudevents" {
		t.Fatalf("event options %+v %v", ev, err)
	}

	cancel()
	select {
	case code := <-done:
		if code != cli.ExitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("arm-emulator did not stop when ctx ended")
	}
	if !strings.Contains(stderr.String(), "arm emulator listening") {
		t.Fatalf("stderr %s", stderr.String())
	}
}

func TestARMEmulatorGenerate(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, cli.Env{Args: []string{"arm-emulator", "--generate", "30,2,3", "--addr", "localhost:0"}, Stdout: pw, Stderr: io.Discard})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	resp, err := http.Get(strings.TrimSpace(line) + "/_emulator/state")
	if err != nil {
		t.Fatal(err)
	}
	var w struct {
		PrivateLinkServices []json.RawMessage `json:"privateLinkServices"`
	}
	err = json.NewDecoder(resp.Body).Decode(&w)
	resp.Body.Close()
	if err != nil || len(w.PrivateLinkServices) != 30 {
		t.Fatalf("state: %v, %d services", err, len(w.PrivateLinkServices))
	}
	cancel()
	if code := <-done; code != cli.ExitOK {
		t.Fatalf("exit %d", code)
	}
}
