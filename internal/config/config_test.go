package config

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/auth"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{"AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:1/a;"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.TablesConnection == "" || c.Policy != "policy.yaml" || c.ReconcileConcurrency != 8 ||
		c.DriftMode != DriftReport || c.DryRun || c.ReconcileSchedule != "0 */2 * * * *" ||
		c.ReconcileTimeBudget != 90*time.Second {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestLoadValues(t *testing.T) {
	pls := "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/contoso-pls"
	c, err := Load(env(map[string]string{
		"PLSGATE_TABLES_ENDPOINT": "https://acct.table.core.windows.net",
		"SCOPE_SUBSCRIPTIONS":     "00000000-0000-0000-0000-000000000001, 00000000-0000-0000-0000-000000000002",
		"SCOPE_PLS_IDS":           pls,
		"DRIFT_MODE":              "ENFORCE",
		"DRY_RUN":                 "true",
		"RECONCILE_CONCURRENCY":   "16",
		"ARM_ENDPOINT":            "http://127.0.0.1:4000",
		"PLSGATE_LOG_LEVEL":       "debug",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ScopeSubscriptions) != 2 || c.ScopePLSIDs[0] != pls || c.DriftMode != DriftEnforce || !c.DryRun ||
		c.ReconcileConcurrency != 16 || !c.ARMOverLoopbackHTTP() || c.LogLevel.String() != "DEBUG" {
		t.Fatalf("unexpected: %+v", c)
	}
}

func TestLoadErrorsNameTheSetting(t *testing.T) {
	base := map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
	cases := map[string]map[string]string{
		"PLSGATE_TABLES_CONNECTION": {},
		"SCOPE_SUBSCRIPTIONS":       {"SCOPE_SUBSCRIPTIONS": "not-a-guid"},
		"SCOPE_PLS_IDS":             {"SCOPE_PLS_IDS": "/subscriptions/x/resourceGroups/rg"},
		"WEBPUBSUB_IDS":             {"WEBPUBSUB_IDS": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/p"},
		"DRIFT_MODE":                {"DRIFT_MODE": "fix"},
		"DRY_RUN":                   {"DRY_RUN": "maybe"},
		"RECONCILE_CONCURRENCY":     {"RECONCILE_CONCURRENCY": "0"},
		"RECONCILE_TIME_BUDGET":     {"RECONCILE_TIME_BUDGET": "soon"},
		"RECONCILE_SCHEDULE":        {"RECONCILE_SCHEDULE": "*/5 * * * *"},
		"ARM_ENDPOINT":              {"ARM_ENDPOINT": "http://10.0.0.1:80"},
		"NOTIFY_TOPIC_ENDPOINT":     {"NOTIFY_TOPIC_ENDPOINT": "ftp://x"},
		"AZURE_CLIENT_ID":           {"AZURE_CLIENT_ID": "abc"},
		"PLSGATE_LOG_LEVEL":         {"PLSGATE_LOG_LEVEL": "loud"},
		"PLSGATE_TABLE_PREFIX":      {"PLSGATE_TABLE_PREFIX": "a-b"},
	}
	for setting, kv := range cases {
		t.Run(setting, func(t *testing.T) {
			m := map[string]string{}
			if setting != "PLSGATE_TABLES_CONNECTION" {
				for k, v := range base {
					m[k] = v
				}
			}
			for k, v := range kv {
				m[k] = v
			}
			_, err := Load(env(m))
			if err == nil || !strings.Contains(err.Error(), "setting "+setting+":") {
				t.Fatalf("want error naming %s, got %v", setting, err)
			}
		})
	}
}

func TestSecretsNotInErrors(t *testing.T) {
	_, err := Load(env(map[string]string{"PLSGATE_TABLES_CONNECTION": "AccountKey=supersecret", "DRIFT_MODE": "x"}))
	if err == nil || strings.Contains(err.Error(), "supersecret") {
		t.Fatalf("error must not contain the secret: %v", err)
	}
}

func TestSettingsListed(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings {
		if seen[s.Name] || s.Help == "" {
			t.Fatalf("setting %s duplicated or without help", s.Name)
		}
		seen[s.Name] = true
	}
}

// The sample local.settings.json must list every setting so a new user sees them all.
func TestSampleListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../local.settings.sample.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Values map[string]string
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("local.settings.sample.json: %v", err)
	}
	for _, s := range Settings {
		if _, ok := f.Values[s.Name]; !ok {
			t.Errorf("local.settings.sample.json lacks %s", s.Name)
		}
	}
	if f.Values["FUNCTIONS_WORKER_RUNTIME"] != "custom" {
		t.Errorf("FUNCTIONS_WORKER_RUNTIME must be custom")
	}
}

// The README's settings table must name every setting.
func TestReadmeListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings {
		if !strings.Contains(string(b), "| `"+s.Name+"` |") {
			t.Errorf("README.md settings table lacks %s", s.Name)
		}
	}
}

func TestLoadAuth(t *testing.T) {
	const (
		tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		oid    = "6f1d1f4e-6a57-4d2e-9b8c-0d1d2f3a4b5c"
		group  = "9e0c4f6a-1111-2222-3333-444455556666"
	)
	c, err := Load(env(map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true"}))
	if err != nil || c.AuthMode != auth.ModeKey || c.AuthAuthorityHost != "https://login.microsoftonline.com" || len(c.Approvers) != 0 {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	c, err = Load(env(map[string]string{
		"AzureWebJobsStorage": "UseDevelopmentStorage=true", "AUTH_MODE": "entra", "AUTH_TENANT_ID": strings.ToUpper(tenant),
		"AUTH_AUDIENCE":       "api://plsgate, 3d2e1f00-aaaa-4bbb-8ccc-000000000001",
		"AUTH_AUTHORITY_HOST": "https://login.microsoftonline.us/",
		"APPROVERS":           "oid:" + strings.ToUpper(oid) + ", alice@contoso.com, role:PLS.Approver",
		"APPROVERS_FORCE":     "group:" + group,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthMode != auth.ModeEntra || c.AuthTenantID != tenant || strings.Join(c.AuthAudiences, " ") != "api://plsgate 3d2e1f00-aaaa-4bbb-8ccc-000000000001" ||
		c.AuthAuthorityHost != "https://login.microsoftonline.us" ||
		strings.Join(c.Approvers.Strings(), " ") != "oid:"+oid+" upn:alice@contoso.com role:PLS.Approver" ||
		strings.Join(c.ApproversForce.Strings(), " ") != "group:"+group {
		t.Fatalf("entra: %+v", c)
	}
	c, err = Load(env(map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "AUTH_MODE": "easyauth", "APPROVERS": "group:" + group}))
	if err != nil || c.AuthMode != auth.ModeEasyAuth || c.AuthTenantID != "" {
		t.Fatalf("easyauth: %+v, %v", c, err)
	}
}

// Every auth mistake stops start-up with an error naming the setting and saying what to write.
func TestLoadAuthRefusals(t *testing.T) {
	const oid = "6f1d1f4e-6a57-4d2e-9b8c-0d1d2f3a4b5c"
	entra := map[string]string{"AUTH_MODE": "entra", "AUTH_TENANT_ID": "72f988bf-86f1-41af-91ab-2d7cd011db47", "AUTH_AUDIENCE": "api://plsgate", "APPROVERS": "oid:" + oid}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name     string
		settings map[string]string
		setting  string
		says     string
	}{
		{"key mode with APPROVERS", with(nil, "APPROVERS", "oid:"+oid), "AUTH_MODE", "AUTH_MODE=entra"},
		{"key mode with APPROVERS_FORCE", with(nil, "APPROVERS_FORCE", "alice@contoso.com"), "AUTH_MODE", "must be empty"},
		{"explicit key mode with APPROVERS", with(nil, "AUTH_MODE", "key", "APPROVERS", "alice@contoso.com"), "AUTH_MODE", "easyauth"},
		{"unknown mode", with(nil, "AUTH_MODE", "aad"), "AUTH_MODE", "want key, entra or easyauth"},
		{"bare GUID", with(entra, "APPROVERS", oid), "APPROVERS", "write oid:" + oid},
		{"bare GUID in force", with(entra, "APPROVERS_FORCE", oid), "APPROVERS_FORCE", "or group:" + oid},
		{"bare GUID, key mode", with(nil, "APPROVERS", oid), "APPROVERS", "bare GUID"},
		{"bare role name", with(entra, "APPROVERS", "Approver"), "APPROVERS", "role:<app role>"},
		{"unknown type", with(entra, "APPROVERS", "email:alice@contoso.com"), "APPROVERS", "unknown type"},
		{"entra without APPROVERS", with(entra, "APPROVERS", ""), "APPROVERS", "any signed-in user"},
		{"entra with only commas", with(entra, "APPROVERS", " , ,"), "APPROVERS", "empty"},
		{"entra with only APPROVERS_FORCE", with(entra, "APPROVERS", "", "APPROVERS_FORCE", "oid:"+oid), "APPROVERS", "empty"},
		{"easyauth without APPROVERS", with(nil, "AUTH_MODE", "easyauth"), "APPROVERS", "AUTH_MODE=easyauth"},
		{"entra without tenant", with(entra, "AUTH_TENANT_ID", ""), "AUTH_TENANT_ID", "needs the tenant ID"},
		{"tenant domain name", with(entra, "AUTH_TENANT_ID", "contoso.onmicrosoft.com"), "AUTH_TENANT_ID", "GUID"},
		{"entra without audience", with(entra, "AUTH_AUDIENCE", ""), "AUTH_AUDIENCE", "App ID URI"},
		{"authority over http", with(entra, "AUTH_AUTHORITY_HOST", "http://login.microsoftonline.com"), "AUTH_AUTHORITY_HOST", "https"},
		{"authority with a path", with(entra, "AUTH_AUTHORITY_HOST", "https://login.microsoftonline.com/common"), "AUTH_AUTHORITY_HOST", "no path"},
		{"authority on a private address", with(entra, "AUTH_AUTHORITY_HOST", "http://10.0.0.1"), "AUTH_AUTHORITY_HOST", "loopback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(env(tc.settings))
			if err == nil || !strings.Contains(err.Error(), "setting "+tc.setting+":") || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("want an error naming %s and saying %q, got %v", tc.setting, tc.says, err)
			}
		})
	}
	// Loopback http is the local token issuer.
	if _, err := Load(env(with(entra, "AUTH_AUTHORITY_HOST", "http://127.0.0.1:4321"))); err != nil {
		t.Fatalf("loopback authority: %v", err)
	}
}

// Issue 15.5: the scan budget follows the schedule, and a budget longer than
// the gap between two runs is refused (a scan would still run when the next
// tick is due).
func TestScanBudgetFitsTheSchedule(t *testing.T) {
	base := map[string]string{"AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:1/a;"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	c, err := Load(env(with("RECONCILE_SCHEDULE", "0 */10 * * * *")))
	if err != nil || c.ReconcileTimeBudget != 7*time.Minute+30*time.Second {
		t.Fatalf("10-minute schedule: budget %v, %v", c.ReconcileTimeBudget, err)
	}
	if c, err = Load(env(with("RECONCILE_SCHEDULE", "0 0 * * * *"))); err != nil || c.ReconcileTimeBudget != 8*time.Minute {
		t.Fatalf("hourly schedule: budget %v (want the 8m cap), %v", c.ReconcileTimeBudget, err)
	}
	_, err = Load(env(with("RECONCILE_TIME_BUDGET", "3m")))
	if err == nil || !strings.Contains(err.Error(), "RECONCILE_TIME_BUDGET") || !strings.Contains(err.Error(), "2m0s") {
		t.Fatalf("a 3m budget with a 2-minute schedule: %v", err)
	}
	_, err = Load(env(with("RECONCILE_SCHEDULE", "0 0 0 30 2 *")))
	if err == nil || !strings.Contains(err.Error(), "RECONCILE_SCHEDULE") {
		t.Fatalf("a schedule that never fires: %v", err)
	}
}

// SCOPE_PLS_IDS takes the resource IDs of any registered kind — a private link
// service here — and refuses anything else: another type, a connection ID.
func TestScopeIDsOfRegisteredKinds(t *testing.T) {
	base := map[string]string{"AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:1/a;"}
	pls := "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/contoso-pls"
	for id, ok := range map[string]bool{
		pls:                                    true,
		pls + "/privateEndpointConnections/c1": false,
		"/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/contoso/providers/Microsoft.Storage/storageAccounts/st": false,
	} {
		m := map[string]string{"SCOPE_PLS_IDS": id}
		for k, v := range base {
			m[k] = v
		}
		_, err := Load(env(m))
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "SCOPE_PLS_IDS")) {
			t.Errorf("%s: err %v, want accepted=%v", id, err, ok)
		}
	}
}
