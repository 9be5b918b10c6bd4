package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/plsgate/plsgate/internal/fault"
	"github.com/plsgate/plsgate/internal/redact"

	"github.com/plsgate/plsgate/internal/store/tablekey"
)

// Table names (before TablePrefix) and fixed partitions of the runs table.
const (
	ConnectionsTable = "connections"
	TransitionsTable = "transitions"
	RunsTable        = "runs"

	runPartition        = "run"
	checkpointPartition = "checkpoint"
)

// Azure limits enforced here because Azurite does not.
const (
	maxPropertyBytes = 64 << 10 // a string property, UTF-16 encoded
	maxEntityBytes   = 1 << 20
	maxFreeText      = 16 << 10 // our own cap for free-text fields, in UTF-8 bytes
	truncatedMarker  = "…[truncated]"
	maxPageSize      = 1000 // a query page never holds more than 1000 entities
	defaultLimit     = 100
)

// The store's sentinels carry their fault code (internal/fault). Only bad input is terminal: see
// answerFault.
var (
	// ErrNotFound: the entity does not exist (404).
	ErrNotFound = fault.New(fault.NotFound, "store: not found")
	// ErrConflict: someone else wrote first — 409 on Add (the row exists) or 412 on If-Match (stale
	// ETag). Re-read and decide again.
	ErrConflict = fault.New(fault.Conflict, "store: conflict")
	// ErrTooLarge: a key, property or entity exceeds an Azure Table storage limit (terminal).
	ErrTooLarge = tablekey.ErrTooLarge
	// ErrInvalidContinuation: a continuation token that this store did not produce (terminal).
	ErrInvalidContinuation = fault.NewTerminal(fault.Invalid, "store: invalid continuation token")
)

// Options configures New. Exactly one of ConnectionString or Endpoint (+ Credential) is required.
type Options struct {
	// ConnectionString: a storage connection string (AzureWebJobsStorage, Azurite's full dev string).
	// "UseDevelopmentStorage=true" is expanded to Azurite's default local endpoint.
	ConnectionString string
	// Endpoint is the table service URL (https://<account>.table.core.windows.net) used with
	// Credential (managed identity).
	Endpoint   string
	Credential azcore.TokenCredential
	// TablePrefix is prepended to every table name (letters and digits, starting with a letter);
	// tests use it to isolate themselves.
	TablePrefix string
	// Retry overrides azcore's default retry policy (optional; tests shorten it). A zero
	// TryTimeout becomes DefaultTryTimeout.
	Retry *policy.RetryOptions
	// Transport replaces the HTTP client (optional; tests count Table calls with it).
	Transport policy.Transporter
}

// Store is safe for concurrent use.
type Store struct {
	connections, transitions, runs *aztables.Client
	bindings                       *aztables.Client // see bindings.go
}

const devStorage = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
	"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
	"TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"

var prefixRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9]{0,40})?$`)

// DefaultTryTimeout bounds each try of a Table call. azcore sets none by default, so a
// request the service never answers would hold a claim's lease until it expired and let
// another instance act on the same intent; with it, a call takes at most about
// (MaxRetries+1)·TryTimeout plus the retry delays. A Table operation normally answers in
// milliseconds.
const DefaultTryTimeout = 5 * time.Second

// New connects to Table storage and creates its tables if they are missing.
func New(ctx context.Context, o Options) (*Store, error) {
	if !prefixRE.MatchString(o.TablePrefix) {
		return nil, fmt.Errorf("store: table prefix %q must be letters and digits starting with a letter (≤ 41 chars)", o.TablePrefix)
	}
	return open(ctx, o, clientOptions(o))
}

// clientOptions builds the aztables options: every try of every call is bounded.
func clientOptions(o Options) *aztables.ClientOptions {
	copts := &aztables.ClientOptions{}
	if o.Retry != nil {
		copts.Retry = *o.Retry
	}
	if copts.Retry.TryTimeout <= 0 {
		copts.Retry.TryTimeout = DefaultTryTimeout
	}
	copts.Transport = o.Transport
	return copts
}

func open(ctx context.Context, o Options, copts *aztables.ClientOptions) (*Store, error) {
	// A SAS connection string puts sig= on every request URL; errors must not carry it. The
	// boundary policy (outermost) gives every failed call its fault code, once.
	copts.PerCallPolicies = append(copts.PerCallPolicies, boundaryPolicy{}, redact.Policy{})
	var (
		svc *aztables.ServiceClient
		err error
	)
	switch {
	case o.ConnectionString != "" && o.Endpoint != "":
		return nil, errors.New("store: set either a connection string or an endpoint, not both")
	case o.ConnectionString != "":
		cs := o.ConnectionString
		if cs == "UseDevelopmentStorage=true" {
			cs = devStorage // aztables rejects the shorthand
		}
		// aztables' own message does not echo the string, but a url.Parse error inside it
		// quotes the service URL with the SAS appended: redact.
		if svc, err = aztables.NewServiceClientFromConnectionString(cs, copts); err != nil {
			return nil, fmt.Errorf("store: parse storage connection string: %w", redact.Error(err))
		}
	case o.Endpoint != "":
		if o.Credential == nil {
			return nil, errors.New("store: an endpoint needs a credential (managed identity)")
		}
		if svc, err = aztables.NewServiceClient(o.Endpoint, o.Credential, copts); err != nil {
			return nil, fmt.Errorf("store: table client for %s: %w", o.Endpoint, err)
		}
	default:
		return nil, errors.New("store: no storage connection string or table endpoint configured")
	}
	s := &Store{}
	for _, t := range []struct {
		name string
		c    **aztables.Client
	}{{ConnectionsTable, &s.connections}, {TransitionsTable, &s.transitions}, {RunsTable, &s.runs}, {BindingsTable, &s.bindings}} {
		name := o.TablePrefix + t.name
		if _, err := svc.CreateTable(ctx, name, nil); err != nil && !tableExists(err) {
			return nil, fmt.Errorf("store: create table %s: %w", name, redact.Error(err)) // a URL that does not parse fails before the pipeline
		}
		*t.c = svc.NewClient(name)
	}
	return s, nil
}

func tableExists(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusConflict &&
		re.ErrorCode != string(aztables.TableBeingDeleted)
}

// Service names Table storage in errors and API answers.
const Service = "Table storage"

// tooLargeCodes are the Table service's 400 answers for a key, property or entity over its
// limits (https://learn.microsoft.com/rest/api/storageservices/table-service-error-codes):
// the same bad input as ErrTooLarge, which the store checks before sending (Azurite does not).
var tooLargeCodes = []string{"EntityTooLarge", "PropertyValueTooLarge", "KeyValueTooLarge"}

// answerFault is the store boundary's table: an error answer's code and class. Only bad input
// is terminal. Every other store failure is retried: without Table storage plsgate can record
// nothing, so acknowledging a trigger would drop it unrecorded (a 403 heals when the role
// assignment is fixed, and Event Grid redelivers meanwhile).
func answerFault(status int, errorCode string) (fault.Code, bool) {
	if status == http.StatusBadRequest && slices.Contains(tooLargeCodes, errorCode) {
		return fault.Invalid, true
	}
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return fault.Unavailable, false
	case status == http.StatusNotFound:
		return fault.NotFound, false
	case status == http.StatusConflict, status == http.StatusPreconditionFailed:
		return fault.Conflict, false
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return fault.Forbidden, false
	case status >= 400:
		return fault.Refused, false
	}
	return fault.Internal, false
}

// Wrap is the store boundary: it gives err its code and class once (an error that has one,
// such as the sentinels above, keeps it) and says what was being done. The Table clients'
// pipeline applies it to every answer (boundaryPolicy); fakes call it to fail as the store does.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if fault.Of(err) != nil {
		if op == "" {
			return err
		}
		return &fault.Error{Code: fault.CodeOf(err), Terminal: fault.IsTerminal(err), Service: fault.ServiceOf(err), Op: op, Err: err}
	}
	e := &fault.Error{Code: fault.Internal, Op: op, Err: err}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		e.Code, e.Terminal = answerFault(re.StatusCode, re.ErrorCode)
		e.Service = Service
		if e.Code == fault.Invalid {
			e.Err = fmt.Errorf("%w: %w", ErrTooLarge, err) // the service's word for what check() refuses
		}
	} else if c, ok := fault.OfTransport(err); ok {
		e.Code, e.Service = c, Service
	}
	return e
}

// boundaryPolicy runs per call, outside azcore's retry policy: the final error answer or
// transport failure of every Table request leaves the pipeline as a *fault.Error. aztables'
// generated client returns a pipeline error as is, and the *azcore.ResponseError built here is
// the one it would build (runtime.NewResponseError), so errors.As keeps working.
type boundaryPolicy struct{}

func (boundaryPolicy) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err != nil {
		return resp, Wrap("", err)
	}
	if resp.StatusCode >= 400 {
		return resp, Wrap("", runtime.NewResponseError(resp))
	}
	return resp, nil
}

// IsUnavailable reports whether err means "Table storage cannot be reached or is overloaded right now;
// try again later": transport errors, timeouts (including an expired context deadline), 408, 429 and
// 5xx — the codes Unavailable and Timeout. Conflicts, not-found and validation errors are not.
func IsUnavailable(err error) bool {
	switch fault.CodeOf(Wrap("", err)) {
	case fault.Unavailable, fault.Timeout:
		return true
	}
	return false
}

// statusError ties a sentinel (ErrConflict, ErrNotFound) to the service's response error, so callers
// can use errors.Is for the first and errors.As(*azcore.ResponseError) for details.
type statusError struct {
	sentinel error
	resp     *azcore.ResponseError
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%v (HTTP %d %s)", e.sentinel, e.resp.StatusCode, e.resp.ErrorCode)
}
func (e *statusError) Unwrap() []error { return []error{e.sentinel, e.resp} }

func statusCode(err error) (int, *azcore.ResponseError) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode, re
	}
	return 0, nil
}

// ---- entity encoding ----

// entity is the JSON body of a write: property → value, with @odata.type annotations where JSON cannot
// carry the type (DateTime, Int64). Empty strings and zero times are omitted (Replace removes them).
type entity map[string]any

const timeFormat = "2006-01-02T15:04:05.0000000Z" // Edm.DateTime: UTC, 100 ns ticks

func newEntity(pk, rk string) entity { return entity{"PartitionKey": pk, "RowKey": rk} }

func (e entity) str(name, v string) {
	if v != "" {
		e[name] = v
	}
}

func (e entity) time(name string, v time.Time) {
	if !v.IsZero() {
		e[name] = v.UTC().Format(timeFormat)
		e[name+"@odata.type"] = "Edm.DateTime"
	}
}

func (e entity) int(name string, v int) {
	e[name] = strconv.FormatInt(int64(v), 10)
	e[name+"@odata.type"] = "Edm.Int64"
}

// check enforces Azure's property and entity size limits (formula from the Table service docs:
// 4 + 2·len(PK) + 2·len(RK) + Σ(8 + 2·len(name) + value size)).
func (e entity) check() error {
	size := 4
	for name, v := range e {
		switch name {
		case "PartitionKey", "RowKey":
			size += 2 * utf16Len(v.(string))
			continue
		}
		if strings.HasSuffix(name, "@odata.type") {
			continue
		}
		size += 8 + 2*len(name)
		if _, typed := e[name+"@odata.type"]; typed {
			size += 8 // DateTime, Int64
			continue
		}
		s := v.(string)
		n := 2 * utf16Len(s)
		if n > maxPropertyBytes {
			return fmt.Errorf("%w: property %s is %d bytes (limit %d)", ErrTooLarge, name, n, maxPropertyBytes)
		}
		size += 4 + n
	}
	if size > maxEntityBytes {
		return fmt.Errorf("%w: entity is %d bytes (limit %d)", ErrTooLarge, size, maxEntityBytes)
	}
	return nil
}

// truncate caps free text at maxFreeText bytes (on a rune boundary) and marks the cut.
func truncate(s string) string {
	if len(s) <= maxFreeText {
		return s
	}
	cut := maxFreeText - len(truncatedMarker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncatedMarker
}

// row is an entity as read back.
type row map[string]json.RawMessage

func (r row) str(name string) string {
	var s string
	if v, ok := r[name]; ok {
		_ = json.Unmarshal(v, &s) // a non-string value reads as ""
	}
	return s
}

func (r row) time(name string) (time.Time, error) {
	s := r.str(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: property %s: %w", name, err)
	}
	return t.UTC(), nil
}

// int reads Edm.Int64 (a JSON string) or Edm.Int32 (a JSON number).
func (r row) int(name string) (int, error) {
	v, ok := r[name]
	if !ok {
		return 0, nil
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err != nil {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return 0, fmt.Errorf("store: property %s: not a number", name)
		}
		n = json.Number(s)
	}
	i, err := n.Int64()
	if err != nil {
		return 0, fmt.Errorf("store: property %s: %w", name, err)
	}
	return int(i), nil
}

func marshal(e entity) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("store: encode entity: %w", err)
	}
	return b, nil
}

func decodeRow(b []byte) (row, error) {
	var r row
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("store: decode entity: %w", err)
	}
	return r, nil
}

// ---- conditional writes ----

const writeIDProp = "WriteID"

func newWriteID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// get reads one entity; 404 → ErrNotFound.
func get(ctx context.Context, c *aztables.Client, pk, rk string) (row, string, error) {
	resp, err := c.GetEntity(ctx, pk, rk, nil)
	if err != nil {
		if code, re := statusCode(err); code == http.StatusNotFound {
			return nil, "", &statusError{ErrNotFound, re}
		}
		return nil, "", err
	}
	r, err := decodeRow(resp.Value)
	if err != nil {
		return nil, "", err
	}
	etag := string(resp.ETag)
	if etag == "" {
		etag = r.str("odata.etag")
	}
	return r, etag, nil
}

// insert adds e. existed=true (with the existing row's ETag) when a different writer's row is already
// there; a 409 whose row carries our WriteID is an SDK retry of our own successful insert.
func insert(ctx context.Context, c *aztables.Client, e entity) (etag string, existed bool, err error) {
	wid := newWriteID()
	e[writeIDProp] = wid
	if err := e.check(); err != nil {
		return "", false, err
	}
	body, err := marshal(e)
	if err != nil {
		return "", false, err
	}
	resp, err := c.AddEntity(ctx, body, nil)
	if err == nil {
		return string(resp.ETag), false, nil
	}
	code, re := statusCode(err)
	if code != http.StatusConflict {
		return "", false, err
	}
	r, etag, gerr := get(ctx, c, e["PartitionKey"].(string), e["RowKey"].(string))
	if gerr != nil {
		if errors.Is(gerr, ErrNotFound) { // deleted in between: still a conflict for the caller
			return "", false, &statusError{ErrConflict, re}
		}
		return "", false, fmt.Errorf("read back after 409: %w", gerr)
	}
	if r.str(writeIDProp) == wid {
		return etag, false, nil
	}
	return etag, true, &statusError{ErrConflict, re}
}

// replace overwrites the entity if its ETag still matches (If-Match). 412 → ErrConflict unless the
// stored row is our own retried write; 404 → ErrNotFound.
// put adds the entity when ifMatch is "" (ErrConflict if it exists) and
// otherwise replaces it conditionally (ErrConflict on a stale ETag).
func put(ctx context.Context, c *aztables.Client, e entity, ifMatch string) (string, error) {
	if ifMatch == "" {
		etag, _, err := insert(ctx, c, e)
		return etag, err
	}
	return replace(ctx, c, e, ifMatch)
}

func replace(ctx context.Context, c *aztables.Client, e entity, ifMatch string) (string, error) {
	if ifMatch == "" {
		return "", errors.New("store: conditional update needs the ETag read with the entity")
	}
	wid := newWriteID()
	e[writeIDProp] = wid
	if err := e.check(); err != nil {
		return "", err
	}
	body, err := marshal(e)
	if err != nil {
		return "", err
	}
	m := azcore.ETag(ifMatch)
	resp, err := c.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeReplace, IfMatch: &m})
	if err == nil {
		return string(resp.ETag), nil
	}
	code, re := statusCode(err)
	switch code {
	case http.StatusNotFound:
		return "", &statusError{ErrNotFound, re}
	case http.StatusPreconditionFailed:
		r, etag, gerr := get(ctx, c, e["PartitionKey"].(string), e["RowKey"].(string))
		if gerr == nil && r.str(writeIDProp) == wid {
			return etag, nil
		}
		if gerr != nil && !errors.Is(gerr, ErrNotFound) {
			return "", fmt.Errorf("read back after 412: %w", gerr)
		}
		return "", &statusError{ErrConflict, re}
	}
	return "", err
}

// clampLimit maps limit ≤ 0 to the default and caps it.
func clampLimit(limit, ceiling int) int {
	if limit <= 0 {
		limit = defaultLimit
	}
	return min(limit, ceiling)
}
