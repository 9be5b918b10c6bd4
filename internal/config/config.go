package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/plsgate/plsgate/internal/auth"

	"github.com/plsgate/plsgate/internal/resource"
)

// DriftMode says what a reconcile does with an Approved connection that the
// current policy would not approve.
type DriftMode string

const (
	DriftReport  DriftMode = "report"  // record + log + notify, change nothing
	DriftEnforce DriftMode = "enforce" // reject it (never approves a Rejected one)
)

// Config is every app setting plsgate reads, typed and validated.
type Config struct {
	// Table storage: a connection string (Azurite, AzureWebJobsStorage) or an
	// endpoint used with the managed identity.
	TablesConnection string // secret: never log
	TablesEndpoint   string
	TablePrefix      string

	Policy string // path to the policy file, or the policy text inline

	ScopeSubscriptions []string
	ScopePLSIDs        []string
	ScopeResourceGraph bool

	ReconcileSchedule    string
	ReconcileConcurrency int
	ReconcileTimeBudget  time.Duration
	FailedRetryInterval  time.Duration
	DriftMode            DriftMode
	DryRun               bool

	WebPubSubIDs []string

	// AuthMode says how approve/reject, reconcile and force identify callers; the lists are
	// typed (oid:, group:, role:, upn:) and empty in key mode.
	AuthMode          auth.Mode
	AuthTenantID      string   // canonical GUID; required for entra
	AuthAudiences     []string // entra: App ID URI and/or client ID
	AuthAuthorityHost string   // https://HOST, no trailing slash
	Approvers         auth.List
	ApproversForce    auth.List

	NotifyTopicEndpoint string
	NotifyTopicKey      string // secret: never log

	AzureClientID string
	ARMEndpoint   string

	LogLevel slog.Level
}

// Setting describes one app setting: the single list that local.settings.sample.json,
// the README and infra/main.bicep are checked against.
type Setting struct {
	Name    string
	Default string
	Secret  bool
	Help    string
}

// Settings lists every app setting plsgate reads, in README order.
var Settings = []Setting{
	{Name: "PLSGATE_TABLES_CONNECTION", Help: "Table storage connection string for plsgate's tables; falls back to AzureWebJobsStorage.", Secret: true},
	{Name: "AzureWebJobsStorage", Help: "The Functions host's storage connection string; used for the tables when no PLSGATE_TABLES_* is set.", Secret: true},
	{Name: "PLSGATE_TABLES_ENDPOINT", Help: "Table endpoint (https://ACCOUNT.table.core.windows.net) used with the managed identity instead of a connection string."},
	{Name: "PLSGATE_TABLE_PREFIX", Help: "Prefix for the table names (connections, transitions, runs); letters and digits."},
	{Name: "PLSGATE_POLICY", Default: "policy.yaml", Help: "Policy: a file path, or the YAML/JSON text inline."},
	{Name: "SCOPE_SUBSCRIPTIONS", Help: "Comma-separated subscription IDs whose private link services plsgate manages."},
	{Name: "SCOPE_PLS_IDS", Help: "Comma-separated resource IDs plsgate manages (private link services, or another registered kind), in addition to SCOPE_SUBSCRIPTIONS."},
	{Name: "SCOPE_RESOURCE_GRAPH", Default: "false", Help: "Find Pending connections with an Azure Resource Graph query instead of listing every subscription (cheaper for many subscriptions; such scans see no drift on PLSs without a Pending connection)."},
	{Name: "RECONCILE_SCHEDULE", Default: "0 */2 * * * *", Help: "NCRONTAB schedule of the drift reconciliation timer (read by the Functions host); the guaranteed path for requests from other tenants."},
	{Name: "RECONCILE_CONCURRENCY", Default: "8", Help: "Private link services reconciled at once during a scan (1-64)."},
	{Name: "RECONCILE_TIME_BUDGET", Help: "How long one timer scan may run before it stores its position and stops; at most the shortest gap between two runs of RECONCILE_SCHEDULE (default: 3/4 of that gap, 90s for the default schedule, at most 8m)."},
	{Name: "FAILED_RETRY_INTERVAL", Default: "6h", Help: "After ARM refuses a decision for good (e.g. 403), how long plsgate waits before trying it again on an unchanged connection (a changed connection or decision, or POST /api/v1/reconcile, retries at once)."},
	{Name: "DRIFT_MODE", Default: "report", Help: "report: record and notify drift; enforce: reject Approved connections no rule approves."},
	{Name: "DRY_RUN", Default: "false", Help: "Record decisions as dry-run and make no ARM writes."},
	{Name: "WEBPUBSUB_IDS", Help: "Comma-separated Web PubSub resource IDs whose shared private link resources verify requesters (verifiedBy: webPubSub)."},
	{Name: "AUTH_MODE", Default: "key", Help: "Who may approve/reject, reconcile and force through the API: key (the function key only; APPROVERS must be empty and force is refused), entra (plsgate verifies an Entra ID access token sent as Authorization: Bearer) or easyauth (trusts X-MS-CLIENT-PRINCIPAL: only with App Service authentication on)."},
	{Name: "AUTH_TENANT_ID", Help: "Entra ID tenant ID (GUID) whose tokens are accepted; required with entra; with easyauth, if set, the principal's tenant must match."},
	{Name: "AUTH_AUDIENCE", Help: "entra: comma-separated accepted token audiences: the API's App ID URI (v1.0 tokens, e.g. api://plsgate) and/or its client ID (v2.0 tokens); required with entra."},
	{Name: "AUTH_AUTHORITY_HOST", Default: "https://login.microsoftonline.com", Help: "entra: the Entra ID authority (https://login.microsoftonline.us for US Government, https://login.partner.microsoftonline.cn for 21Vianet); https, plain http only on loopback (the local token issuer)."},
	{Name: "APPROVERS", Help: "Comma-separated typed entries allowed to approve/reject and reconcile: oid:<guid>, group:<guid>, role:<app role>, upn:<name@domain> (a bare name@domain means upn:; a bare GUID is refused). Required with entra and easyauth; must be empty with key."},
	{Name: "APPROVERS_FORCE", Help: "Typed entries, as APPROVERS, allowed to override the policy with force=true (they may also approve/reject); force is refused with AUTH_MODE=key."},
	{Name: "NOTIFY_TOPIC_ENDPOINT", Help: "Event Grid topic endpoint for outcome CloudEvents (empty: no notifications)."},
	{Name: "NOTIFY_TOPIC_KEY", Help: "Access key for the notify topic (empty: managed identity).", Secret: true},
	{Name: "AZURE_CLIENT_ID", Help: "Client ID of the user-assigned managed identity."},
	{Name: "ARM_ENDPOINT", Help: "Resource Manager endpoint (sovereign clouds, or the local emulator on loopback)."},
	{Name: "PLSGATE_LOG_LEVEL", Default: "info", Help: "debug, info, warn or error."},
}

// Error names the setting that is wrong.
type Error struct {
	Setting string
	Msg     string
}

func (e *Error) Error() string { return fmt.Sprintf("setting %s: %s", e.Setting, e.Msg) }

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Load reads the settings through getenv (os.Getenv in production) and
// validates them; all problems are reported together.
func Load(getenv func(string) string) (*Config, error) {
	get := func(name string) string {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			for _, s := range Settings {
				if s.Name == name {
					return s.Default
				}
			}
		}
		return v
	}
	var errs []error
	bad := func(setting, format string, args ...any) {
		errs = append(errs, &Error{Setting: setting, Msg: fmt.Sprintf(format, args...)})
	}

	c := &Config{
		TablesConnection:    get("PLSGATE_TABLES_CONNECTION"),
		TablesEndpoint:      get("PLSGATE_TABLES_ENDPOINT"),
		TablePrefix:         get("PLSGATE_TABLE_PREFIX"),
		Policy:              get("PLSGATE_POLICY"),
		ReconcileSchedule:   get("RECONCILE_SCHEDULE"),
		NotifyTopicEndpoint: get("NOTIFY_TOPIC_ENDPOINT"),
		NotifyTopicKey:      get("NOTIFY_TOPIC_KEY"),
		AzureClientID:       get("AZURE_CLIENT_ID"),
		ARMEndpoint:         get("ARM_ENDPOINT"),
	}
	c.loadAuth(get, bad)
	if c.TablesConnection == "" && c.TablesEndpoint == "" {
		c.TablesConnection = get("AzureWebJobsStorage")
	}
	if c.TablesConnection == "" && c.TablesEndpoint == "" {
		bad("PLSGATE_TABLES_CONNECTION", "no Table storage configured: set PLSGATE_TABLES_CONNECTION, PLSGATE_TABLES_ENDPOINT or AzureWebJobsStorage")
	}
	if c.TablesConnection != "" {
		from := "PLSGATE_TABLES_CONNECTION"
		if strings.TrimSpace(getenv(from)) == "" {
			from = "AzureWebJobsStorage"
		}
		if msg := checkStorageConnectionString(c.TablesConnection); msg != "" {
			bad(from, "%s (value not shown)", msg)
		}
	}
	if c.TablesEndpoint != "" {
		if err := checkURL(c.TablesEndpoint); err != nil {
			bad("PLSGATE_TABLES_ENDPOINT", "%v", err)
		}
	}
	if c.TablePrefix != "" && !regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,20}$`).MatchString(c.TablePrefix) {
		bad("PLSGATE_TABLE_PREFIX", "%q: must start with a letter and hold only letters and digits (at most 21)", c.TablePrefix)
	}
	if c.Policy == "" {
		bad("PLSGATE_POLICY", "empty: give a policy file path or inline policy")
	}

	c.ScopeSubscriptions = list(get("SCOPE_SUBSCRIPTIONS"))
	for _, s := range c.ScopeSubscriptions {
		if !guidRE.MatchString(s) {
			bad("SCOPE_SUBSCRIPTIONS", "%q is not a subscription ID (GUID)", s)
		}
	}
	c.ScopePLSIDs = list(get("SCOPE_PLS_IDS"))
	for _, id := range c.ScopePLSIDs {
		// Any registered kind (resource.Kinds: private link services, and what providers add).
		if rid, _, ok := resource.ResourceOf(id); !ok || !resource.Same(rid, id) {
			bad("SCOPE_PLS_IDS", "%q is not the ID of a private link service (/subscriptions/…/resourceGroups/…/providers/Microsoft.Network/privateLinkServices/NAME) or of another resource kind plsgate manages", id)
		}
	}
	c.WebPubSubIDs = list(get("WEBPUBSUB_IDS"))
	for _, id := range c.WebPubSubIDs {
		if !isResourceID(id, "microsoft.signalrservice/webpubsub") {
			bad("WEBPUBSUB_IDS", "%q is not a Web PubSub resource ID (/subscriptions/…/resourceGroups/…/providers/Microsoft.SignalRService/webPubSub/NAME)", id)
		}
	}

	var err error
	if c.ScopeResourceGraph, err = strconv.ParseBool(get("SCOPE_RESOURCE_GRAPH")); err != nil {
		bad("SCOPE_RESOURCE_GRAPH", "%q is not true or false", get("SCOPE_RESOURCE_GRAPH"))
	}
	if c.DryRun, err = strconv.ParseBool(get("DRY_RUN")); err != nil {
		bad("DRY_RUN", "%q is not true or false", get("DRY_RUN"))
	}
	if n, err := strconv.Atoi(get("RECONCILE_CONCURRENCY")); err != nil || n < 1 || n > 64 {
		bad("RECONCILE_CONCURRENCY", "%q: want a whole number from 1 to 64", get("RECONCILE_CONCURRENCY"))
	} else {
		c.ReconcileConcurrency = n
	}
	if d, err := time.ParseDuration(get("FAILED_RETRY_INTERVAL")); err != nil || d < time.Minute {
		bad("FAILED_RETRY_INTERVAL", "%q: want a duration of at least 1m such as 6h", get("FAILED_RETRY_INTERVAL"))
	} else {
		c.FailedRetryInterval = d
	}
	var gap time.Duration
	if sched, err := ParseSchedule(c.ReconcileSchedule); err != nil {
		bad("RECONCILE_SCHEDULE", "%q: %v; want an NCRONTAB expression with six fields (seconds first), e.g. \"0 */2 * * * *\"", c.ReconcileSchedule, err)
	} else if gap = sched.ShortestGap(); gap == 0 {
		bad("RECONCILE_SCHEDULE", "%q never fires", c.ReconcileSchedule)
	}
	if v := get("RECONCILE_TIME_BUDGET"); v == "" {
		c.ReconcileTimeBudget = min(gap*3/4, 8*time.Minute) // a scan ends before the next tick is due
	} else if d, err := time.ParseDuration(v); err != nil || d < time.Second {
		bad("RECONCILE_TIME_BUDGET", "%q: want a duration of at least 1s such as 90s", v)
	} else if gap > 0 && d > gap {
		bad("RECONCILE_TIME_BUDGET", "%s is longer than the %v between two runs of RECONCILE_SCHEDULE %q: a scan would still run when the next tick is due", d, gap, c.ReconcileSchedule)
	} else {
		c.ReconcileTimeBudget = d
	}
	switch m := DriftMode(strings.ToLower(get("DRIFT_MODE"))); m {
	case DriftReport, DriftEnforce:
		c.DriftMode = m
	default:
		bad("DRIFT_MODE", "%q: want report or enforce", get("DRIFT_MODE"))
	}
	if c.NotifyTopicEndpoint != "" {
		if err := checkURL(c.NotifyTopicEndpoint); err != nil {
			bad("NOTIFY_TOPIC_ENDPOINT", "%v", err)
		}
	}
	if c.AzureClientID != "" && !guidRE.MatchString(c.AzureClientID) {
		bad("AZURE_CLIENT_ID", "%q is not a client ID (GUID)", c.AzureClientID)
	}
	if c.ARMEndpoint != "" {
		if err := checkURL(c.ARMEndpoint); err != nil {
			bad("ARM_ENDPOINT", "%v", err)
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("PLSGATE_LOG_LEVEL"))); err != nil {
		bad("PLSGATE_LOG_LEVEL", "%q: want debug, info, warn or error", get("PLSGATE_LOG_LEVEL"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// loadAuth reads AUTH_* and the typed approver lists; a mode and lists that do not fit
// together refuse start-up (no "any user of the tenant", no list that key mode would ignore).
func (c *Config) loadAuth(get func(string) string, bad func(setting, format string, args ...any)) {
	var err error
	if c.AuthMode, err = auth.ParseMode(get("AUTH_MODE")); err != nil {
		bad("AUTH_MODE", "%v", err)
	}
	c.Approvers, err = auth.ParseList(get("APPROVERS"))
	approversBad := err != nil
	if approversBad {
		bad("APPROVERS", "%v", err)
	}
	if c.ApproversForce, err = auth.ParseList(get("APPROVERS_FORCE")); err != nil {
		bad("APPROVERS_FORCE", "%v", err)
	}
	if t := get("AUTH_TENANT_ID"); t != "" {
		if g, ok := auth.CanonicalGUID(t); ok {
			c.AuthTenantID = g
		} else {
			bad("AUTH_TENANT_ID", "%q is not a tenant ID (GUID)", t)
		}
	}
	for _, a := range list(get("AUTH_AUDIENCE")) {
		if a != "" {
			c.AuthAudiences = append(c.AuthAudiences, a)
		}
	}
	if c.AuthAuthorityHost, err = auth.CheckAuthorityHost(get("AUTH_AUTHORITY_HOST")); err != nil {
		bad("AUTH_AUTHORITY_HOST", "%v", err)
	}
	switch c.AuthMode {
	case auth.ModeKey:
		if len(c.Approvers) > 0 || len(c.ApproversForce) > 0 {
			bad("AUTH_MODE", "key (the default) identifies nobody, so APPROVERS and APPROVERS_FORCE must be empty: set AUTH_MODE=entra (plsgate verifies Entra ID tokens) or easyauth (App Service authentication on), or clear the lists")
		}
	case auth.ModeEntra, auth.ModeEasyAuth:
		if len(c.Approvers) == 0 && !approversBad {
			bad("APPROVERS", "empty: AUTH_MODE=%s needs the approvers listed (oid:, group:, role:, upn:); an empty list would let any signed-in user of the tenant decide", c.AuthMode)
		}
		if c.AuthMode == auth.ModeEntra {
			if get("AUTH_TENANT_ID") == "" {
				bad("AUTH_TENANT_ID", "empty: AUTH_MODE=entra needs the tenant ID (GUID) whose tokens are accepted")
			}
			if len(c.AuthAudiences) == 0 {
				bad("AUTH_AUDIENCE", "empty: AUTH_MODE=entra needs the API's App ID URI and/or client ID")
			}
		}
	}
}

// ARMOverLoopbackHTTP reports whether ARM_ENDPOINT is a plain-HTTP loopback
// address: only then may a static token travel unencrypted (the emulator).
func (c *Config) ARMOverLoopbackHTTP() bool { return IsLoopbackHTTP(c.ARMEndpoint) }

// IsLoopbackHTTP reports whether raw is an http:// URL on a loopback host.
func IsLoopbackHTTP(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// checkURL accepts https anywhere and http only on loopback (local emulators).
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	if u.Scheme != "https" && !IsLoopbackHTTP(raw) {
		return fmt.Errorf("%q: want https (plain http only on loopback)", raw)
	}
	return nil
}

func list(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' }) {
		out = append(out, strings.TrimSpace(f))
	}
	return out
}

// isResourceID checks the shape /subscriptions/S/resourceGroups/RG/providers/NS/TYPE/NAME
// with the given lower-case "ns/type".
func isResourceID(id, nsType string) bool {
	p := strings.Split(strings.Trim(id, "/"), "/")
	return len(p) == 8 && strings.EqualFold(p[0], "subscriptions") && guidRE.MatchString(p[1]) &&
		strings.EqualFold(p[2], "resourceGroups") && p[3] != "" && strings.EqualFold(p[4], "providers") &&
		strings.EqualFold(p[5]+"/"+p[6], nsType) && p[7] != ""
}
