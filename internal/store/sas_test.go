package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

const sasSig = "dGFibGUtc2FzLXNpZ25hdHVyZS1zZWNyZXQ%3D"

func sasConnectionString(account string) string {
	return "AccountName=" + account + ";SharedAccessSignature=sv=2024-11-04&ss=t&srt=sco&sp=rwdlacu&se=2030-01-01T00:00:00Z&sig=" + sasSig
}

// toAddr dials addr whatever the URL's host: aztables always calls
// https://ACCOUNT.table.core.windows.net for a SAS connection string.
func toAddr(addr string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // a loopback test server's certificate
	}}
}

func noSAS(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: want an error", what)
	}
	if msg := strings.ReplaceAll(err.Error(), "sig=REDACTED", ""); strings.Contains(msg, sasSig) || strings.Contains(msg, "sig=") {
		t.Errorf("%s: the SAS is in the error: %v", what, err)
	}
}

// A Table client built from a SAS connection string puts sig= on every request URL. Whether
// the endpoint is dead, answers an error that quotes the URL, or the connection string makes
// no valid URL, the store's errors must not carry it — and must still classify as before.
// Before: `Post "https://…/Tables?sv=…&sig=…": dial tcp …: connection refused`.
func TestSASNeverInErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	noRetry := &policy.RetryOptions{MaxRetries: -1}

	t.Run("dead endpoint", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, err = New(ctx, Options{ConnectionString: sasConnectionString("deadacct"), Transport: toAddr(addr), Retry: noRetry})
		noSAS(t, "open", err)
		if !IsUnavailable(err) {
			t.Errorf("a dead endpoint must stay 'unavailable': %v", err)
		}
		if !strings.Contains(err.Error(), "deadacct.table.core.windows.net") {
			t.Errorf("the error should still say where: %v", err)
		}
	})

	t.Run("erroring endpoint", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/Tables" {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"odata.error":{"code":"ServerBusy","message":{"lang":"en-US","value":"busy: https://%s%s"}}}`, r.Host, r.URL.RequestURI())
		}))
		defer srv.Close()
		s, err := New(ctx, Options{ConnectionString: sasConnectionString("busyacct"), Transport: toAddr(srv.Listener.Addr().String()), Retry: noRetry})
		if err != nil {
			t.Fatal(err)
		}
		pls := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/p"
		_, err = s.GetConnection(ctx, pls, "c1")
		noSAS(t, "get", err)
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.ErrorCode != "ServerBusy" || !IsUnavailable(err) {
			t.Errorf("the error lost its status or code: %v", err)
		}
		_, _, err = s.ListConnections(ctx, ConnectionQuery{PLSID: pls})
		noSAS(t, "list", err)
		_, err = s.ListTransitions(ctx, pls, "c1", 10)
		noSAS(t, "history", err)
	})

	t.Run("unusable connection string", func(t *testing.T) {
		// The account name becomes the host: url.Parse refuses it and quotes the URL, SAS and all.
		_, err := New(ctx, Options{ConnectionString: sasConnectionString("bad acct")})
		noSAS(t, "parse", err)
	})
}
