package redact

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Policy is an azcore per-call policy (ClientOptions.PerCallPolicies) that keeps the request's
// query string out of what the call returns:
//   - a transport error's *url.Error carries the URL without its query (net/http puts the full
//     request URL there: with a SAS connection string that includes sig=);
//   - an error answer (status ≥ 400) whose body quotes a URL gets that URL redacted before the
//     SDK turns it into an *azcore.ResponseError (whose text includes the body; azcore itself
//     prints the request URL without its query — azcore v1.24 exported/response_error.go).
//
// Successful answers pass untouched. Placed per call it runs outside the retry policy, once.
type Policy struct{}

// Do implements policy.Policy.
func (Policy) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = URL(ue.URL)
		}
		return resp, Error(err)
	}
	if resp != nil && resp.StatusCode >= 400 && resp.Body != nil {
		body, rerr := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if r := String(string(body)); r != string(body) {
			body = []byte(r)
			resp.ContentLength = int64(len(body))
			if resp.Header.Get("Content-Length") != "" {
				resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			}
		}
		var rd io.Reader = bytes.NewReader(body)
		if rerr != nil {
			rd = io.MultiReader(rd, errReader{Error(rerr)})
		}
		resp.Body = io.NopCloser(rd)
	}
	return resp, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
