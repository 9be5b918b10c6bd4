package infra_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/config"
	"github.com/plsgate/plsgate/internal/events"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

// These tests keep infra/ consistent with the code by reading files as text and JSON. Paths are
// relative to this directory (go test runs in it); the repository root is "..".

// omittedInAzure lists the settings of config.Settings that main.bicep deliberately does not
// set: each is a secret whose Azure replacement is the managed identity. infra/README.md
// documents the same list. A value for one of them in the template would put a secret into
// the deployment history, so the test also fails when one appears.
var omittedInAzure = map[string]string{
	"PLSGATE_TABLES_CONNECTION": "a connection string; Azure uses PLSGATE_TABLES_ENDPOINT with the identity",
	"NOTIFY_TOPIC_KEY":          "a topic access key; Azure uses the identity with EventGrid Data Sender on the topic",
	"AzureWebJobsStorage":       "a connection string; Azure uses its identity form AzureWebJobsStorage__credential/__clientId/__*ServiceUri",
}

// hostSettings are the Functions host's own settings main.bicep may set besides plsgate's.
var hostSettings = map[string]bool{
	"AzureWebJobsStorage__credential":           true,
	"AzureWebJobsStorage__clientId":             true,
	"AzureWebJobsStorage__blobServiceUri":       true,
	"AzureWebJobsStorage__queueServiceUri":      true,
	"AzureWebJobsStorage__tableServiceUri":      true,
	"APPLICATIONINSIGHTS_CONNECTION_STRING":     true,
	"APPLICATIONINSIGHTS_AUTHENTICATION_STRING": true,
}

// flexDeprecated are app settings the Flex Consumption plan replaces with
// properties.functionAppConfig (azure-docs functions-app-settings.md#flex-consumption-plan-deprecations).
var flexDeprecated = []string{
	"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE",
	"WEBSITE_CONTENTSHARE", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "SCM_DO_BUILD_DURING_DEPLOYMENT",
}

// deliberateDefaults are app settings whose Azure default differs from config's on purpose.
var deliberateDefaults = map[string]string{
	"DRY_RUN":   "true",  // a first deployment records decisions without ARM writes
	"AUTH_MODE": "entra", // the deployed API verifies approvers' tokens (issue 16.4); locally the key suffices
	// The timer is the guaranteed path for cross-tenant requests (issue 15 makes this config's
	// default too; the entry then only restates it).
	"RECONCILE_SCHEDULE": "0 */2 * * * *",
}

// verifiedAPIVersions lists every resource type@api-version the templates use, with the public
// source it was checked against. A new type or version must be checked and added here.
var verifiedAPIVersions = map[string]string{
	"Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31":          "flex-consumption samples (nzthiago/flex-consumption-bicep-basic)",
	"Microsoft.OperationalInsights/workspaces@2023-09-01":                  "flex-consumption samples",
	"Microsoft.Insights/components@2020-02-02":                             "azure-docs functions-infrastructure-as-code.md",
	"Microsoft.Storage/storageAccounts@2023-05-01":                         "flex-consumption samples",
	"Microsoft.Storage/storageAccounts/blobServices@2023-05-01":            "flex-consumption samples",
	"Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01": "flex-consumption samples",
	"Microsoft.Storage/storageAccounts/tableServices@2023-05-01":           "Storage 2023-05-01 REST spec (tableServices/default)",
	"Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01":    "Storage 2023-05-01 REST spec",
	"Microsoft.Authorization/roleAssignments@2022-04-01":                   "flex-consumption samples",
	"Microsoft.Authorization/roleDefinitions@2022-04-01":                   "azure-docs custom-roles-bicep.md",
	"Microsoft.Web/serverfarms@2024-04-01":                                 "flex-consumption samples (sku FC1/FlexConsumption)",
	"Microsoft.Web/sites@2024-04-01":                                       "flex-consumption samples (functionAppConfig)",
	"Microsoft.Web/sites/config@2024-04-01":                                "flex-consumption samples (config 'appsettings')",
	"Microsoft.EventGrid/systemTopics@2025-02-15":                          "Azure/bicep-registry-modules avm/res/event-grid/system-topic",
	"Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15":       "Azure/bicep-registry-modules avm/res/event-grid/system-topic/event-subscription",
	"Microsoft.EventGrid/topics@2025-02-15":                                "EventGrid 2025-02-15 (same API version as systemTopics)",
	"Microsoft.Network/privateLinkServices@2024-05-01":                     "azure-rest-api-specs network 2024-05-01 privateLinkService.json",
	"Microsoft.SignalRService/webPubSub@2024-03-01":                        "azure-rest-api-specs webpubsub stable 2024-03-01 (armwebpubsub)",
	"Microsoft.Resources/resourceGroups@2024-03-01":                        "Azure/bicep-types-az generated/resources_11/microsoft.resources/2024-03-01 (subscription scope)",
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// appSettings returns main.bicep's app settings: the properties of the sites/config
// 'appsettings' resource, by name.
func appSettings(t *testing.T, f *bicepFile) map[string]entry {
	t.Helper()
	res := f.block(regexp.MustCompile(`resource\s+\w+\s+'Microsoft\.Web/sites/config@[^']+'\s*=\s*\{`), 0)
	if res < 0 {
		t.Fatalf("%s: no Microsoft.Web/sites/config resource", f.path)
	}
	if !regexp.MustCompile(`name:\s*'appsettings'`).MatchString(f.src[res:f.closing(res)]) {
		t.Fatalf("%s: the sites/config resource is not named 'appsettings'", f.path)
	}
	props := f.block(regexp.MustCompile(`properties\s*:\s*\{`), res)
	out := map[string]entry{}
	for _, e := range f.entries(props) {
		if _, dup := out[e.key]; dup {
			t.Errorf("%s:%d: app setting %s set twice", f.path, f.line(e.at), e.key)
		}
		out[e.key] = e
	}
	if len(out) == 0 {
		t.Fatalf("%s: the appsettings resource sets nothing", f.path)
	}
	return out
}

func TestAppSettingsCoverConfig(t *testing.T) {
	main := loadBicep(t, "main.bicep")
	settings := appSettings(t, main)

	known := map[string]bool{}
	for _, s := range config.Settings {
		known[s.Name] = true
		if why, omitted := omittedInAzure[s.Name]; omitted {
			if e, ok := settings[s.Name]; ok {
				t.Errorf("main.bicep:%d sets %s, which stays out of the template (%s)", main.line(e.at), s.Name, why)
			}
			continue
		}
		if _, ok := settings[s.Name]; !ok {
			t.Errorf("main.bicep does not set %s (config.Settings lists it): add it to the appsettings resource", s.Name)
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name := range omittedInAzure {
		if !known[name] {
			t.Errorf("omittedInAzure names %s, which config.Settings no longer lists", name)
		}
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("infra/README.md does not document why %s is not set in Azure", name)
		}
	}

	// AzureWebJobsStorage in its identity form (azure-docs functions-reference.md, "Connecting to
	// host storage with an identity"; the user-assigned identity needs __credential + __clientId),
	// with explicit service URIs from the cloud's storage suffix, so that a sovereign cloud works
	// (__accountName would assume core.windows.net).
	if e := settings["AzureWebJobsStorage__credential"]; e.value != "'managedidentity'" {
		t.Errorf("AzureWebJobsStorage__credential = %q, want 'managedidentity'", e.value)
	}
	if _, ok := settings["AzureWebJobsStorage__clientId"]; !ok {
		t.Errorf("main.bicep does not set AzureWebJobsStorage__clientId (the user-assigned identity)")
	}
	if _, ok := settings["AzureWebJobsStorage__accountName"]; ok {
		t.Errorf("main.bicep sets AzureWebJobsStorage__accountName: use the explicit __*ServiceUri settings (sovereign clouds)")
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^var\s+(\w+)\s*=\s*(.+)$`).FindAllStringSubmatch(main.src, -1) {
		vars[m[1]] = strings.TrimSpace(m[2])
	}
	for name, svc := range map[string]string{"AzureWebJobsStorage__blobServiceUri": "blob", "AzureWebJobsStorage__queueServiceUri": "queue", "AzureWebJobsStorage__tableServiceUri": "table", "PLSGATE_TABLES_ENDPOINT": "table"} {
		v := settings[name].value
		if def, ok := vars[v]; ok {
			v = def
		}
		if v != "'https://${storageName}."+svc+".${storageSuffix}'" {
			t.Errorf("%s = %q, want 'https://${storageName}.%s.${storageSuffix}'", name, v, svc)
		}
	}
	if vars["storageSuffix"] != "environment().suffixes.storage" {
		t.Errorf("var storageSuffix = %q, want environment().suffixes.storage", vars["storageSuffix"])
	}
	// The Entra authority and Resource Manager follow the cloud too.
	for name, want := range map[string]string{"AUTH_AUTHORITY_HOST": "environment().authentication.loginEndpoint", "ARM_ENDPOINT": "environment().resourceManager"} {
		v := settings[name].value
		if !strings.Contains(main.src, want) || v == "''" || v == "" {
			t.Errorf("%s = %q: want it derived from %s", name, v, want)
		}
	}
	for _, name := range []string{"AzureWebJobsStorage__clientId", "AZURE_CLIENT_ID"} {
		if v := settings[name].value; !strings.HasSuffix(v, ".properties.clientId") {
			t.Errorf("%s = %q, want the user-assigned identity's clientId", name, v)
		}
	}

	for name, e := range settings {
		if !known[name] && !hostSettings[name] {
			t.Errorf("main.bicep:%d sets %s, which neither plsgate (config.Settings) nor the host reads", main.line(e.at), name)
		}
	}
	for _, name := range flexDeprecated {
		if _, ok := settings[name]; ok {
			t.Errorf("main.bicep sets %s, which Flex Consumption does not take as an app setting", name)
		}
	}
	// The custom handler stack on Flex is functionAppConfig.runtime, not FUNCTIONS_WORKER_RUNTIME.
	if !regexp.MustCompile(`runtime\s*:\s*\{\s*name\s*:\s*'custom'`).MatchString(main.src) {
		t.Errorf("main.bicep: functionAppConfig.runtime.name must be 'custom' (custom handler)")
	}
}

// TestAzureDefaultsMatchConfig compares each app setting's default in main.bicep (a literal or a
// parameter's default) with config's default, so that Azure and local runs behave alike unless
// deliberateDefaults says otherwise.
func TestAzureDefaultsMatchConfig(t *testing.T) {
	main := loadBicep(t, "main.bicep")
	settings := appSettings(t, main)
	params := main.params()
	paramExpr := []*regexp.Regexp{
		regexp.MustCompile(`^(\w+)$`),
		regexp.MustCompile(`^string\((\w+)\)$`),
		regexp.MustCompile(`^(\w+)\s*\?\s*'true'\s*:\s*'false'$`),
		regexp.MustCompile(`^join\((\w+),\s*','\)$`),
	}
	checked := 0
	for _, s := range config.Settings {
		e, ok := settings[s.Name]
		if !ok {
			continue
		}
		got, ok := literal(e.value)
		for _, re := range paramExpr {
			if m := re.FindStringSubmatch(e.value); !ok && m != nil {
				if p, isParam := params[m[1]]; isParam && p.hasDefault {
					got, ok = literal(p.def)
				}
			}
		}
		if !ok {
			continue // an expression (a resource property, a computed endpoint)
		}
		checked++
		want := s.Default
		if d, deliberate := deliberateDefaults[s.Name]; deliberate {
			want = d
		}
		if got != want {
			t.Errorf("main.bicep:%d: %s defaults to %q in Azure, config's default is %q", main.line(e.at), s.Name, got, want)
		}
	}
	if checked < 10 {
		t.Errorf("only %d settings had a checkable default: is the appsettings block still parsed?", checked)
	}
}

func TestLocalSettingsSampleListsEverySetting(t *testing.T) {
	const path = "../local.settings.sample.json"
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("local.settings.sample.json is missing at the repository root (%v): it must list every setting of config.Settings", err)
	}
	var f struct {
		Values map[string]string
	}
	readJSON(t, path, &f)
	for _, s := range config.Settings {
		if _, ok := f.Values[s.Name]; !ok {
			t.Errorf("local.settings.sample.json lacks %s", s.Name)
		}
	}
	if f.Values["FUNCTIONS_WORKER_RUNTIME"] != "custom" {
		t.Errorf("local.settings.sample.json: FUNCTIONS_WORKER_RUNTIME must be custom")
	}
}

func TestParametersFile(t *testing.T) {
	main := loadBicep(t, "main.bicep")
	params := main.params()
	var f struct {
		Schema     string                     `json:"$schema"`
		Parameters map[string]json.RawMessage `json:"parameters"`
	}
	readJSON(t, "main.parameters.json", &f)
	if !strings.Contains(f.Schema, "deploymentParameters.json") {
		t.Errorf("main.parameters.json: $schema %q is not a deployment parameters schema", f.Schema)
	}
	values := map[string]any{}
	for name, raw := range f.Parameters {
		if _, ok := params[name]; !ok {
			t.Errorf("main.parameters.json sets %s, which main.bicep does not declare", name)
		}
		var v struct{ Value any }
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Errorf("main.parameters.json %s: %v", name, err)
		}
		values[name] = v.Value
	}
	for name, p := range params {
		if !p.hasDefault {
			if _, ok := values[name]; !ok {
				t.Errorf("main.bicep param %s has no default and main.parameters.json does not set it", name)
			}
		}
	}
	// Safe first deployment: dry run, drift reported only, no event subscription before the
	// function exists.
	effective := func(name string) any {
		if v, ok := values[name]; ok {
			return v
		}
		s, ok := literal(params[name].def)
		if !ok {
			return nil
		}
		if s == "true" || s == "false" {
			return s == "true"
		}
		return s
	}
	for name, want := range map[string]any{"dryRun": true, "driftMode": "report", "deployEventSubscription": false} {
		if got := effective(name); got != want {
			t.Errorf("first deployment: %s = %v, want %v", name, got, want)
		}
	}
}

type functionJSON struct {
	Bindings []struct {
		Type, Direction, Name, Schedule string
	}
}

func readFunctions(t *testing.T) map[string]functionJSON {
	t.Helper()
	paths, err := filepath.Glob("../functions/*/function.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no functions/*/function.json found (%v)", err)
	}
	out := map[string]functionJSON{}
	for _, p := range paths {
		var f functionJSON
		readJSON(t, p, &f)
		out[filepath.Base(filepath.Dir(p))] = f
	}
	return out
}

func TestFunctionsMatchInfra(t *testing.T) {
	main := loadBicep(t, "main.bicep")
	settings := appSettings(t, main)
	functions := readFunctions(t)

	var eventFunctions []string
	for name, f := range functions {
		for _, b := range f.Bindings {
			if b.Type == "eventGridTrigger" {
				eventFunctions = append(eventFunctions, name)
			}
			// %NAME% in a binding is resolved from an app setting by the host: it must exist in Azure.
			for _, m := range regexp.MustCompile(`%([^%]+)%`).FindAllStringSubmatch(b.Schedule, -1) {
				if _, ok := settings[m[1]]; !ok {
					t.Errorf("functions/%s binds %%%s%%, which main.bicep does not set", name, m[1])
				}
			}
		}
	}
	if len(eventFunctions) != 1 {
		t.Fatalf("want exactly one eventGridTrigger function in functions/, got %v", eventFunctions)
	}
	m := regexp.MustCompile(`(?m)^var\s+eventsFunctionName\s*=\s*'([^']+)'`).FindStringSubmatch(main.src)
	if m == nil {
		t.Fatalf("main.bicep: no var eventsFunctionName = '...'")
	}
	if m[1] != eventFunctions[0] {
		t.Errorf("main.bicep delivers events to function %q; functions/ has eventGridTrigger %q", m[1], eventFunctions[0])
	}
	if !strings.Contains(main.src, "'${functionApp.id}/functions/${eventsFunctionName}'") {
		t.Errorf("main.bicep: the event subscription's function resource ID must be '${functionApp.id}/functions/${eventsFunctionName}'")
	}
}

func TestHostExecutableIsTheBinary(t *testing.T) {
	var host struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string
			}
		}
	}
	readJSON(t, "../host.json", &host)
	exe := host.CustomHandler.Description.DefaultExecutablePath

	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mod := regexp.MustCompile(`(?m)^module\s+(\S+)`).FindSubmatch(gomod)
	if mod == nil {
		t.Fatal("go.mod: no module line")
	}
	if binary := filepath.Base(string(mod[1])); exe != binary {
		t.Errorf("host.json starts %q; go build names the binary %q", exe, binary)
	}
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	out := regexp.MustCompile(`-o\s+dist/plsgate/(\S+)`).FindSubmatch(makefile)
	if out == nil {
		t.Fatalf("Makefile: no `go build -o dist/plsgate/NAME` in the package target")
	}
	if string(out[1]) != exe {
		t.Errorf("make package builds dist/plsgate/%s; host.json starts %q", out[1], exe)
	}
}

type roleActions struct {
	Actions              []string `json:"actions"`
	ResourceGraphActions []string `json:"resourceGraphActions"`
}

// TestRoleIsExactlyTheARMOperations: the custom role covers every RBAC action of
// arm.Operations and of every registered resource kind (a provider's Kind.Actions), and
// holds nothing else.
func TestRoleIsExactlyTheARMOperations(t *testing.T) {
	var role roleActions
	readJSON(t, "role-actions.json", &role)

	const graph = "Microsoft.ResourceGraph/"
	used := map[string]bool{}
	usesGraph := false
	kinds := resource.Kinds()
	if len(kinds) == 0 {
		t.Fatal("no resource kind is registered: the providers' kinds cannot be checked")
	}
	for _, k := range kinds {
		if len(k.Actions) == 0 {
			t.Errorf("resource kind %s lists no RBAC actions (resource.Kind.Actions): the role cannot be checked against it", k.Type)
		}
		for _, a := range k.Actions {
			used[a] = true
			if !slices.Contains(role.Actions, a) {
				t.Errorf("%s (needed by resource kind %s) is missing from role-actions.json actions", a, k.Type)
			}
		}
	}
	for _, op := range arm.Operations {
		used[op.Action] = true
		if strings.HasPrefix(op.Action, graph) {
			usesGraph = true
			if !slices.Contains(role.ResourceGraphActions, op.Action) {
				t.Errorf("%s (%s) is missing from role-actions.json resourceGraphActions", op.Action, op.Name)
			}
			continue
		}
		if !slices.Contains(role.Actions, op.Action) {
			t.Errorf("%s (%s) is missing from role-actions.json actions", op.Action, op.Name)
		}
	}
	for _, a := range role.Actions {
		if !used[a] {
			t.Errorf("role-actions.json grants %s, which neither an arm.Operations entry nor a resource kind needs", a)
		}
	}
	for _, a := range role.ResourceGraphActions {
		if !strings.HasPrefix(a, graph) || (usesGraph && !used[a]) {
			t.Errorf("role-actions.json resourceGraphActions holds %s: only the Resource Graph action arm uses belongs there", a)
		}
	}
	for _, a := range append(slices.Clone(role.Actions), role.ResourceGraphActions...) {
		if strings.Contains(a, "*") {
			t.Errorf("role-actions.json: no wildcards in a least-privilege role (%s)", a)
		}
	}

	// The template must load that file and use both lists.
	f := loadBicep(t, "modules/role.bicep")
	for _, want := range []string{"loadJsonContent('../role-actions.json')", "roleActions.actions", "roleActions.resourceGraphActions", "type: 'CustomRole'"} {
		if !strings.Contains(f.src, want) {
			t.Errorf("modules/role.bicep does not contain %q", want)
		}
	}
	main := loadBicep(t, "main.bicep")
	if !regexp.MustCompile(`includeResourceGraph\s*:\s*scopeResourceGraph`).MatchString(main.src) {
		t.Errorf("main.bicep: the role's Resource Graph action must follow scopeResourceGraph (SCOPE_RESOURCE_GRAPH)")
	}
}

func TestTablesMatchStore(t *testing.T) {
	main := loadBicep(t, "main.bicep")
	open := strings.Index(main.src, "var tableNames = [")
	if open < 0 {
		t.Fatal("main.bicep: no var tableNames = [...]")
	}
	open += len("var tableNames = ")
	var got []string
	for _, m := range regexp.MustCompile(`'([^']+)'`).FindAllStringSubmatch(main.src[open:main.closing(open)], -1) {
		got = append(got, m[1])
	}
	want := []string{store.ConnectionsTable, store.TransitionsTable, store.RunsTable, store.BindingsTable}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("main.bicep tables %v, internal/store uses %v", got, want)
	}
}

// TestTemplatesAreWellFormed stands in for a compiler: every .bicep file lexes (strings,
// comments, brackets), uses only verified resource API versions, points at module and JSON
// files that exist, and passes modules exactly the parameters they declare.
func TestTemplatesAreWellFormed(t *testing.T) {
	resourceRE := regexp.MustCompile(`(?m)^resource\s+\w+\s+'([^'@]+)@([^']+)'`)
	loadRE := regexp.MustCompile(`loadJsonContent\('([^']+)'\)`)
	for _, path := range bicepFiles(t) {
		t.Run(path, func(t *testing.T) {
			f := loadBicep(t, path)
			if !regexp.MustCompile(`(?m)^targetScope\s*=\s*'(resourceGroup|subscription)'`).MatchString(f.src) {
				t.Errorf("%s: declare targetScope", path)
			}
			for _, m := range f.find(resourceRE) {
				typ := f.src[m[2]:m[3]] + "@" + f.src[m[4]:m[5]]
				if _, ok := verifiedAPIVersions[typ]; !ok {
					t.Errorf("%s:%d: %s is not in verifiedAPIVersions: check it against the docs and add it", path, f.line(m[0]), typ)
				}
			}
			for _, m := range f.find(loadRE) {
				p := filepath.Join(filepath.Dir(path), f.src[m[2]:m[3]])
				var v any
				readJSON(t, p, &v)
			}
			for _, u := range f.modules(t) {
				mp := filepath.Join(filepath.Dir(path), u.path)
				if _, err := os.Stat(mp); err != nil {
					t.Errorf("%s:%d: module %s: %v", path, f.line(u.at), u.symbol, err)
					continue
				}
				declared := loadBicep(t, mp).params()
				passed := map[string]bool{}
				for _, e := range u.params {
					passed[e.key] = true
					if _, ok := declared[e.key]; !ok {
						t.Errorf("%s:%d: module %s passes %s, which %s does not declare", path, f.line(e.at), u.symbol, e.key, u.path)
					}
				}
				for name, p := range declared {
					if !p.hasDefault && !passed[name] {
						t.Errorf("%s:%d: module %s does not pass %s, which %s requires", path, f.line(u.at), u.symbol, name, u.path)
					}
				}
			}
		})
	}
}

type eventFilter struct {
	Resources struct {
		IncludedEventTypes    []string `json:"includedEventTypes"`
		OperationNamePrefixes []string `json:"operationNamePrefixes"`
	} `json:"resources"`
	Notifications struct {
		IncludedEventTypes []string `json:"includedEventTypes"`
		ResourceTypes      []string `json:"resourceTypes"`
	} `json:"notifications"`
}

// sameSet reports whether a and b hold the same strings, ignoring order and ASCII case (Event
// Grid compares filter values case-insensitively).
func sameSet(a, b []string) bool {
	norm := func(s []string) []string {
		out := make([]string, len(s))
		for i, v := range s {
			out[i] = strings.ToLower(v)
		}
		sort.Strings(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b)) && len(a) == len(norm(a)) && len(b) == len(norm(b))
}

// TestEventFiltersMatchEvents: the Event Grid subscriptions deliver exactly what
// internal/events acts on, within Event Grid's advanced-filter limits.
func TestEventFiltersMatchEvents(t *testing.T) {
	var f eventFilter
	readJSON(t, "eventgrid-filter.json", &f)

	checks := []struct {
		what      string
		got, want []string
	}{
		{"resources.includedEventTypes vs events.ResourceEventTypes", f.Resources.IncludedEventTypes, events.ResourceEventTypes},
		{"resources.operationNamePrefixes vs events.OperationNamePrefixes", f.Resources.OperationNamePrefixes, events.OperationNamePrefixes()},
		{"notifications.includedEventTypes vs events.NotificationEventTypes", f.Notifications.IncludedEventTypes, events.NotificationEventTypes},
		{"notifications.resourceTypes vs events.NotificationResourceTypes", f.Notifications.ResourceTypes, events.NotificationResourceTypes()},
		{"all includedEventTypes vs events.EventTypes", append(slices.Clone(f.Resources.IncludedEventTypes), f.Notifications.IncludedEventTypes...), events.EventTypes},
	}
	for _, c := range checks {
		if !sameSet(c.got, c.want) {
			t.Errorf("eventgrid-filter.json %s: %q, want %q", c.what, c.got, c.want)
		}
	}
	// Every registered resource kind's events pass the filter, and the kind has a provider
	// (else events would name resources that reconcile cannot read).
	providers := map[string]bool{}
	for _, k := range arm.ProviderKinds() {
		providers[strings.ToLower(k.Type)] = true
	}
	for _, k := range resource.Kinds() {
		if !slices.ContainsFunc(f.Resources.OperationNamePrefixes, func(p string) bool { return strings.EqualFold(p, k.OperationPrefix) }) {
			t.Errorf("resource kind %s: its operation prefix %q is missing from eventgrid-filter.json resources.operationNamePrefixes", k.Type, k.OperationPrefix)
		}
		if !providers[strings.ToLower(k.Type)] {
			t.Errorf("resource kind %s is registered without a provider (arm.RegisterProvider)", k.Type)
		}
	}
	// Every operation name plsgate knows passes the prefix filter (Event Grid: case-insensitive).
	for _, op := range events.OperationNames() {
		if !slices.ContainsFunc(f.Resources.OperationNamePrefixes, func(p string) bool {
			return len(op) >= len(p) && strings.EqualFold(op[:len(p)], p)
		}) {
			t.Errorf("events.OperationNames has %s, which no operationNamePrefixes entry lets through", op)
		}
	}
	// Event Grid limits: at most 25 advanced-filter values per subscription, 512 characters each.
	for name, values := range map[string][]string{"resources": f.Resources.OperationNamePrefixes, "notifications": f.Notifications.ResourceTypes} {
		if len(values) == 0 || len(values) > 25 {
			t.Errorf("%s: %d advanced-filter values, want 1..25", name, len(values))
		}
		for _, v := range values {
			if len(v) > 512 {
				t.Errorf("%s: advanced-filter value longer than 512 characters: %s", name, v)
			}
		}
	}

	sub := loadBicep(t, "modules/event-subscription.bicep")
	for _, re := range []string{
		`loadJsonContent\('\.\./eventgrid-filter\.json'\)`,
		`operatorType:\s*'StringBeginsWith'\s*key:\s*'data\.operationName'\s*values:\s*relevant\.resources\.operationNamePrefixes`,
		`includedEventTypes:\s*relevant\.resources\.includedEventTypes`,
		`operatorType:\s*'StringIn'\s*key:\s*'data\.resourceInfo\.type'\s*values:\s*relevant\.notifications\.resourceTypes`,
		`includedEventTypes:\s*relevant\.notifications\.includedEventTypes`,
		`endpointType:\s*'AzureFunction'`,
	} {
		if !regexp.MustCompile(re).MatchString(sub.src) {
			t.Errorf("modules/event-subscription.bicep does not match %s", re)
		}
	}

	topics := loadBicep(t, "modules/system-topics.bicep")
	for _, re := range []string{
		`topicType:\s*'Microsoft\.Resources\.Subscriptions'`,
		`topicType:\s*'Microsoft\.ResourceNotifications\.Resources'`,
	} {
		if !regexp.MustCompile(re).MatchString(topics.src) {
			t.Errorf("modules/system-topics.bicep does not match %s", re)
		}
	}
	main := loadBicep(t, "main.bicep")
	for _, re := range []string{
		`source:\s*'resources'`,
		`source:\s*'notifications'`,
	} {
		if !regexp.MustCompile(re).MatchString(main.src) {
			t.Errorf("main.bicep does not match %s", re)
		}
	}
	// Event Grid's documented defaults: 30 attempts within 24 hours.
	params := main.params()
	for name, want := range map[string]string{"maxDeliveryAttempts": "30", "eventTimeToLiveInMinutes": "1440"} {
		if got, _ := literal(params[name].def); got != want {
			t.Errorf("main.bicep %s defaults to %q, want %s", name, got, want)
		}
	}
}
