package config

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{"AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=k;TableEndpoint=http://127.0.0.1:1/a;"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.TablesConnection == "" || c.Policy != "policy.yaml" || c.ReconcileConcurrency != 8 ||
		c.DriftMode != DriftReport || c.DryRun || c.ReconcileSchedule != "0 */5 * * * *" ||
		c.ReconcileTimeBudget != 8*time.Minute {
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
	base := map[string]string{"AzureWebJobsStorage": "x"}
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
