package handler

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
)

// recorder is the http.ResponseWriter an HTTP-trigger handler writes into. The answer
// leaves as one http output binding value, so nothing streams: Flush is a no-op.
type recorder struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.wroteHeader || code < 100 || code > 999 {
		return
	}
	if code >= 200 { // 1xx are informational; the final status comes later
		r.status = code
		r.wroteHeader = true
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	return r.body.Write(p)
}

func (r *recorder) Flush() {}

// result is the http output binding value: string status, string header values (multiple
// values joined with ", "), Content-Type sniffed like net/http when the handler set none.
func (r *recorder) result() HTTPResponse {
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	body := r.body.Bytes()
	headers := make(map[string]string, len(r.header)+1)
	for k, vs := range r.header {
		if len(vs) > 0 {
			headers[k] = strings.Join(vs, ", ")
		}
	}
	if _, ok := r.header["Content-Type"]; !ok && len(body) > 0 {
		headers["Content-Type"] = http.DetectContentType(body)
	}
	code := strconv.Itoa(status)
	return HTTPResponse{StatusCode: code, Status: code, Body: string(body), Headers: headers}
}
