package handler

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
)

// Error is an error with an HTTP status and a stable code, answered as
// {"error":{"code","message"}}. Protocol errors use it, and HTTP handlers may too.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// WriteError answers err as JSON. An *Error (anywhere in the chain) keeps its status, code
// and message; anything else becomes 500 "Internal" with a generic message, so that
// internal details never reach a client (log them before calling WriteError).
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: "Internal", Message: "internal error"}
	}
	status := e.Status
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, struct {
		Error ErrorDetail `json:"error"`
	}{ErrorDetail{Code: e.Code, Message: e.Message}})
}

// writeJSON encodes v without HTML escaping (bodies carry HTML pages and URLs).
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := getBuffer()
	defer putBuffer(buf)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only unsupported values fail; none of ours are.
		buf.Reset()
		buf.WriteString(`{"error":{"code":"Internal","message":"encode response"}}`)
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
