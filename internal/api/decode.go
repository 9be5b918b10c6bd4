package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

// maxReasonRunes bounds a manual reason: one sentence for the audit row, not a document.
const maxReasonRunes = 1000

// decisionRequest is the body of POST /connections/approve and /reject.
type decisionRequest struct {
	ConnectionID string `json:"connectionId"`
	Reason       string `json:"reason"`
	Force        bool   `json:"force"`
}

// reconcileRequest is the body of POST /reconcile; a nil ID means the whole scope.
type reconcileRequest struct {
	PrivateLinkServiceID *string `json:"privateLinkServiceId"`
}

// evaluateRequest is the body of POST /evaluate: a connection ID (read from ARM), or pasted ARM
// JSON (a connection, optionally with its private link service). Verified lets the caller say
// which verifications to assume for pasted JSON ({"webPubSub": true}).
type evaluateRequest struct {
	ConnectionID       string          `json:"connectionId"`
	Connection         json.RawMessage `json:"connection"`
	PrivateLinkService json.RawMessage `json:"privateLinkService"`
	Verified           map[string]bool `json:"verified"`
}

// readBody reads a JSON request body under limit. Empty bodies come back as nil.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, newError(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "send the body as application/json")
		}
	}
	if r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, newError(http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("the body exceeds %d bytes", limit))
		}
		return nil, badRequest(CodeInvalidJSON, "the body could not be read")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	return data, nil
}

// decodeStrict decodes one JSON object into dst: unknown fields, trailing data and non-objects
// are refused with a message naming the problem (never echoing the input).
func decodeStrict(data []byte, dst any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return badRequest(CodeInvalidJSON, "the body must be a JSON object")
	}
	if !utf8.Valid(data) {
		return badRequest(CodeInvalidJSON, "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest(CodeInvalidJSON, "unexpected data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return badRequest(CodeInvalidJSON, fmt.Sprintf("malformed JSON at byte %d", se.Offset))
	case errors.As(err, &te):
		if te.Field == "" {
			return badRequest(CodeInvalidJSON, "the body must be a JSON object")
		}
		t := te.Type
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		return badRequest(CodeInvalidJSON, fmt.Sprintf("field %q must be a JSON %s", clip(te.Field, 80), jsonKind(t.Kind())))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return badRequest(CodeInvalidJSON, "the JSON body ends early")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest(CodeUnknownField, "unknown field "+clip(name, 80))
	}
	return badRequest(CodeInvalidJSON, "malformed JSON")
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "value of another type"
}

// parseDecisionRequest decodes and validates an approve/reject body.
func parseDecisionRequest(data []byte) (decisionRequest, error) {
	var req decisionRequest
	if len(data) == 0 {
		return req, badRequest(CodeBadRequest, `the body is required: {"connectionId": "...", "reason": "..."}`)
	}
	if err := decodeStrict(data, &req); err != nil {
		return req, err
	}
	req.ConnectionID = strings.TrimSpace(req.ConnectionID)
	if req.ConnectionID == "" {
		return req, badRequest(CodeBadRequest, "connectionId is required: the full ARM ID of the private endpoint connection")
	}
	if err := checkConnectionID(req.ConnectionID); err != nil {
		return req, err
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if err := checkReason(req.Reason); err != nil {
		return req, err
	}
	return req, nil
}

// checkConnectionID validates the ID of a private endpoint connection on a resource of any
// registered kind (resource.Kinds: a private link service, or another kind plsgate manages).
func checkConnectionID(id string) error {
	resID, name, err := resource.SplitConnectionID(id)
	if _, ok := resource.KindOf(resID); err != nil || !ok {
		return badRequest(CodeInvalidID, "connectionId is not the ID of a private endpoint connection on a resource plsgate manages "+
			"(/subscriptions/…/resourceGroups/…/providers/{type}/{name}/privateEndpointConnections/{name}, {type} one of: "+kindList()+")")
	}
	if store.CheckConnectionKeys(resID, name) != nil {
		return keyTooLong("connectionId")
	}
	return nil
}

// checkPLSID validates the ID of a resource of any registered kind (a private link service
// usually; the field names keep their PLS spelling) given in field.
func checkPLSID(field, id string) error {
	if rid, _, ok := resource.ResourceOf(id); !ok || !resource.Same(rid, id) {
		return badRequest(CodeInvalidID, field+" is not the ID of a private link service or another resource plsgate manages "+
			"(/subscriptions/…/resourceGroups/…/providers/{type}/{name}, {type} one of: "+kindList()+")")
	}
	if store.CheckPLSKey(id) != nil {
		return keyTooLong(field)
	}
	return nil
}

// kindList names the registered resource types, for messages.
func kindList() string {
	var types []string
	for _, k := range resource.Kinds() {
		types = append(types, k.Type)
	}
	return strings.Join(types, ", ")
}

// keyTooLong refuses an ID that cannot be stored: plsgate keys its tables by the PLS ID and the
// connection name, and a Table key holds at most 1 KiB (Azure Storage, "Understanding the Table
// service data model"). No real Azure resource ID comes near that (names are ≤ 80–90
// characters), so the ID is the caller's mistake, not a reason for a 500 or a retry.
func keyTooLong(field string) error {
	return badRequest(CodeInvalidID, field+" is too long: plsgate stores the private link service ID and the connection name "+
		"as Table keys, which hold at most 1 KiB each (after escaping); no Azure resource ID is that long")
}

func checkReason(reason string) error {
	switch {
	case reason == "":
		return badRequest(CodeBadRequest, "reason is required: it is recorded in the audit history")
	case utf8.RuneCountInString(reason) > maxReasonRunes:
		return badRequest(CodeBadRequest, fmt.Sprintf("reason is longer than %d characters", maxReasonRunes))
	case strings.IndexFunc(reason, unicode.IsControl) >= 0:
		return badRequest(CodeBadRequest, "reason must be one line without control characters")
	}
	return nil
}

// parseReconcileRequest decodes a reconcile body; empty means the whole scope.
func parseReconcileRequest(data []byte) (reconcileRequest, error) {
	var req reconcileRequest
	if len(data) == 0 {
		return req, nil
	}
	if err := decodeStrict(data, &req); err != nil {
		return req, err
	}
	if req.PrivateLinkServiceID == nil {
		return req, nil
	}
	id := strings.TrimSpace(*req.PrivateLinkServiceID)
	if id == "" {
		// An unset variable in a script must not turn into a scan of everything.
		return req, badRequest(CodeBadRequest, "privateLinkServiceId is empty; send {} to reconcile the whole scope")
	}
	if err := checkPLSID("privateLinkServiceId", id); err != nil {
		return req, err
	}
	req.PrivateLinkServiceID = &id
	return req, nil
}

// parseEvaluateRequest decodes an evaluate body: exactly one of connectionId or connection.
func parseEvaluateRequest(data []byte) (evaluateRequest, error) {
	var req evaluateRequest
	if len(data) == 0 {
		return req, badRequest(CodeBadRequest, `the body is required: {"connectionId": "..."} or {"connection": {...}, "privateLinkService": {...}}`)
	}
	if err := decodeStrict(data, &req); err != nil {
		return req, err
	}
	req.ConnectionID = strings.TrimSpace(req.ConnectionID)
	req.Connection = nullToNil(req.Connection)
	req.PrivateLinkService = nullToNil(req.PrivateLinkService)
	switch {
	case req.ConnectionID != "" && (req.Connection != nil || req.PrivateLinkService != nil):
		return req, badRequest(CodeBadRequest, "give either connectionId or connection (ARM JSON), not both")
	case req.ConnectionID != "":
		if len(req.Verified) > 0 {
			return req, badRequest(CodeBadRequest, "verified applies to pasted ARM JSON only: for connectionId plsgate verifies itself")
		}
		return req, checkConnectionID(req.ConnectionID)
	case req.Connection == nil && req.PrivateLinkService == nil:
		return req, badRequest(CodeBadRequest, "connectionId or connection (ARM JSON) is required")
	}
	verified := map[string]bool{}
	for k, v := range req.Verified {
		if !strings.EqualFold(k, policy.VerifiedWebPubSub) {
			return req, badRequest(CodeBadRequest, fmt.Sprintf("verified: unknown verification %q (known: %s)", clip(k, 40), policy.VerifiedWebPubSub))
		}
		verified[policy.VerifiedWebPubSub] = v
	}
	req.Verified = verified
	return req, nil
}

func nullToNil(raw json.RawMessage) json.RawMessage {
	if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
		return nil
	}
	return raw
}

// clip shortens s to n runes for messages.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
