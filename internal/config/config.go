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
	DriftMode            DriftMode
	DryRun               bool

	WebPubSubIDs   []string
	Approvers      []string
	ApproversForce []string

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
	{Name: "SCOPE_PLS_IDS", Help: "Comma-separated private link service resource IDs plsgate manages (in addition to SCOPE_SUBSCRIPTIONS)."},
	{Name: "SCOPE_RESOURCE_GRAPH", Default: "false", Help: "Find Pending connections with an Azure Resource Graph query instead of listing every subscription (cheaper for many subscriptions; such scans see no drift on PLSs without a Pending connection)."},
	{Name: "RECONCILE_SCHEDULE", Default: "0 */5 * * * *", Help: "NCRONTAB schedule of the drift reconciliation timer (read by the Functions host)."},
	{Name: "RECONCILE_CONCURRENCY", Default: "8", Help: "Private link services reconciled at once during a scan (1-64)."},
	{Name: "RECONCILE_TIME_BUDGET", Default: "8m", Help: "How long one timer scan may run before it stores its position and stops; below functionTimeout."},
	{Name: "DRIFT_MODE", Default: "report", Help: "report: record and notify drift; enforce: reject Approved connections no rule approves."},
	{Name: "DRY_RUN", Default: "false", Help: "Record decisions as dry-run and make no ARM writes."},
	{Name: "WEBPUBSUB_IDS", Help: "Comma-separated Web PubSub resource IDs whose shared private link resources verify requesters (verifiedBy: webPubSub)."},
	{Name: "APPROVERS", Help: "Comma-separated object IDs, UPNs or group IDs allowed to approve/reject through the API (empty: anyone holding the function key)."},
	{Name: "APPROVERS_FORCE", Help: "Comma-separated principals allowed to override the policy with force=true."},
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
		Approvers:           list(get("APPROVERS")),
		ApproversForce:      list(get("APPROVERS_FORCE")),
	}
	if c.TablesConnection == "" && c.TablesEndpoint == "" {
		c.TablesConnection = get("AzureWebJobsStorage")
	}
	if c.TablesConnection == "" && c.TablesEndpoint == "" {
		bad("PLSGATE_TABLES_CONNECTION", "no Table storage configured: set PLSGATE_TABLES_CONNECTION, PLSGATE_TABLES_ENDPOINT or AzureWebJobsStorage")
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
		if !isResourceID(id, "microsoft.network/privatelinkservices") {
			bad("SCOPE_PLS_IDS", "%q is not a private link service resource ID (/subscriptions/…/resourceGroups/…/providers/Microsoft.Network/privateLinkServices/NAME)", id)
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
	if d, err := time.ParseDuration(get("RECONCILE_TIME_BUDGET")); err != nil || d < time.Second {
		bad("RECONCILE_TIME_BUDGET", "%q: want a duration of at least 1s such as 8m", get("RECONCILE_TIME_BUDGET"))
	} else {
		c.ReconcileTimeBudget = d
	}
	if f := strings.Fields(c.ReconcileSchedule); len(f) != 6 {
		bad("RECONCILE_SCHEDULE", "%q: want an NCRONTAB expression with six fields (seconds first), e.g. \"0 */5 * * * *\"", c.ReconcileSchedule)
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
