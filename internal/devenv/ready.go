package devenv

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// WaitHandler polls GET {url}/ until the custom handler answers anything, as
// the Functions host does before it sends an invocation. exited is closed when
// the handler's process ended; detail adds what a failure should show (its
// exit state and log tail). It gives up after 30 s.
func WaitHandler(ctx context.Context, url string, exited <-chan struct{}, detail func() string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-exited:
			return fmt.Errorf("plsgate serve exited before answering GET /: %s", detail())
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("plsgate serve did not answer GET / on %s: %w: %s", url, ctx.Err(), detail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
