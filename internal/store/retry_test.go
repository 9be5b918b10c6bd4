package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/plsgate/plsgate/internal/testutil/azurite"
)

// loseResponse lets one request of the armed method reach the service and then drops the response,
// as a broken connection would: azcore retries the request, which then meets our own write.
type loseResponse struct {
	method string
	armed  atomic.Bool
	fired  atomic.Int32
}

func (p *loseResponse) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err == nil && req.Raw().Method == p.method && p.armed.CompareAndSwap(true, false) {
		resp.Body.Close()
		p.fired.Add(1)
		return nil, fmt.Errorf("simulated lost response: %w", io.ErrUnexpectedEOF)
	}
	return resp, err
}

func storeWithPolicies(t *testing.T, ps ...policy.Policy) *Store {
	t.Helper()
	copts := &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{
		PerRetryPolicies: ps,
		Retry:            policy.RetryOptions{MaxRetries: 3, RetryDelay: time.Millisecond, MaxRetryDelay: 10 * time.Millisecond},
	}}
	s, err := open(context.Background(), Options{ConnectionString: azurite.Start(t), TablePrefix: azurite.TablePrefix(t)}, copts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A retried write whose first attempt landed must count as ours, not as a conflict.
func TestRetriedWriteIsOurs(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	post := &loseResponse{method: http.MethodPost}
	put := &loseResponse{method: http.MethodPut}
	s := storeWithPolicies(t, post, put)

	c := &Connection{PLSID: testPLS, Name: "c", Status: "Pending"}
	post.armed.Store(true)
	if err := s.PutConnection(ctx, c); err != nil {
		t.Fatalf("add with a lost response: %v", err)
	}
	if post.fired.Load() != 1 {
		t.Fatal("the lost-response fault did not fire")
	}
	got, err := s.GetConnection(ctx, testPLS, "c")
	if err != nil || got.ETag != c.ETag {
		t.Fatalf("ETag after retried add: %q vs stored %+v, %v", c.ETag, got, err)
	}

	c.Status = "Approved"
	put.armed.Store(true)
	if err := s.PutConnection(ctx, c); err != nil {
		t.Fatalf("update with a lost response: %v", err)
	}
	if put.fired.Load() != 1 {
		t.Fatal("the lost-response fault did not fire on update")
	}
	got, err = s.GetConnection(ctx, testPLS, "c")
	if err != nil || got.ETag != c.ETag || got.Status != "Approved" {
		t.Fatalf("after retried update: %+v, %v (ETag %q)", got, err, c.ETag)
	}

	tr := transition("c", "evt-1", time.Now())
	post.armed.Store(true)
	created, err := s.AppendTransition(ctx, tr)
	if err != nil || !created {
		t.Fatalf("append with a lost response: created=%v err=%v, want true, nil", created, err)
	}
	if post.fired.Load() != 2 {
		t.Fatal("the lost-response fault did not fire on append")
	}
	again := transition("c", "evt-1", tr.At)
	if created, err := s.AppendTransition(ctx, again); err != nil || created {
		t.Fatalf("genuine duplicate: created=%v err=%v, want false, nil", created, err)
	}

	// A genuine stale update still conflicts.
	stale := *got
	got.Status = "Rejected"
	if err := s.PutConnection(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := s.PutConnection(ctx, &stale); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
}

// hangOnEntities passes table creation through and never answers an entity request
// until the request's context ends, as a stalled Table service would.
type hangOnEntities struct{ next policy.Transporter }

func (h hangOnEntities) Do(req *http.Request) (*http.Response, error) {
	if req.URL.Path == "/devstoreaccount1/Tables" || strings.HasSuffix(req.URL.Path, "/Tables") {
		return h.next.Do(req)
	}
	<-req.Context().Done()
	return nil, req.Context().Err()
}

// Every try of a Table call is bounded even when the caller's context is not: a stalled
// service must not hold a claim's lease past its expiry (issue 13.3). Without a per-try
// timeout this call never returns.
func TestTableCallsHaveATryTimeout(t *testing.T) {
	t.Parallel()
	if got := clientOptions(Options{Retry: &policy.RetryOptions{MaxRetries: 2}}).Retry.TryTimeout; got != DefaultTryTimeout {
		t.Fatalf("try timeout with caller retry options = %v, want %v", got, DefaultTryTimeout)
	}
	s, err := New(context.Background(), Options{
		ConnectionString: azurite.Start(t), TablePrefix: azurite.TablePrefix(t),
		Transport: hangOnEntities{next: http.DefaultClient},
		Retry:     &policy.RetryOptions{MaxRetries: -1}, // one try, default TryTimeout
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- s.PutConnection(context.Background(), &Connection{PLSID: testPLS, Name: "c", Status: "Pending"})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want the try's deadline, got %v", err)
		}
	case <-time.After(2 * time.Minute): // a watchdog, not a timing assertion
		t.Fatal("a Table call with no caller deadline never returned")
	}
}
