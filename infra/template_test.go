package infra_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var resourceDeclRE = regexp.MustCompile(`(?m)^resource\s+(\w+)\s+'([^']+)'`)

// uncitedResources returns the resource declarations of f that have no `// source: …`
// comment (with some text after the colon) within the five lines above them.
func uncitedResources(f *bicepFile) []string {
	lines := strings.Split(f.src, "\n")
	cite := regexp.MustCompile(`^\s*//\s*source:\s*\S`)
	var out []string
	for _, m := range f.find(resourceDeclRE) {
		ln := f.line(m[0]) // 1-based
		found := false
		for i := ln - 2; i >= 0 && i >= ln-6; i-- {
			if cite.MatchString(lines[i]) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, fmt.Sprintf("%s:%d: resource %s (%s)", f.path, ln, f.src[m[2]:m[3]], f.src[m[4]:m[5]]))
		}
	}
	return out
}

// Every Azure behaviour the templates rely on is cited next to the line (issue 16.1): a
// `resource` without a `// source:` comment within the five lines above it fails.
func TestEveryResourceCitesASource(t *testing.T) {
	n := 0
	for _, path := range bicepFiles(t) {
		f := loadBicep(t, path)
		n += len(f.find(resourceDeclRE))
		for _, u := range uncitedResources(f) {
			t.Errorf("%s has no `// source: <doc path or repo/file>` comment within the five lines above it", u)
		}
	}
	if n < 20 {
		t.Errorf("found only %d resource declarations in infra/: is the scan still reading the templates?", n)
	}
}

func TestUncitedResources(t *testing.T) {
	src := "// source: azure-docs a.md\nresource a 'X/y@1' = {\n}\n\n\n\n\n\n\n// source: too far away\n\n\n\n\n\nresource b 'X/y@1' = {\n}\n// source:\nresource c 'X/y@1' existing = {\n}\n"
	m, err := maskBicep(src)
	if err != nil {
		t.Fatal(err)
	}
	got := uncitedResources(&bicepFile{path: "t.bicep", src: src, mask: m})
	if len(got) != 2 || !strings.Contains(got[0], "resource b") || !strings.Contains(got[1], "resource c") {
		t.Fatalf("uncited = %q, want resources b (comment six lines up) and c (empty citation)", got)
	}
}

// A deployment without a scope is refused at validation, before any resource exists
// (issue 16.2): fail() in the token that every resource name is built from.
func TestTemplateRefusesEmptyScope(t *testing.T) {
	main := loadBicep(t, "main.bicep")
	for _, re := range []string{
		`(?m)^var scopeGiven = !empty\(scopeSubscriptionIds\) \|\| !empty\(scopePlsIds\)$`,
		`(?m)^var token = scopeGiven \? uniqueString\(resourceGroup\(\)\.id, name\) : fail\('[^']*scopeSubscriptionIds[^']*scopePlsIds`,
	} {
		if !regexp.MustCompile(re).MatchString(main.src) {
			t.Errorf("main.bicep does not match %s", re)
		}
	}
	// Every created resource's name derives from token, so the failure comes before the first write.
	for _, v := range []string{"identityName", "storageName", "planName", "appName", "workspaceName", "appInsightsName", "roleName"} {
		m := regexp.MustCompile(`(?m)^var ` + v + ` = (.*)$`).FindStringSubmatch(main.src)
		if m == nil || !strings.Contains(m[1], "${token}") {
			t.Errorf("main.bicep: var %s must be built from ${token} (the scope check)", v)
		}
	}
	var params struct {
		Parameters map[string]struct{ Value any } `json:"parameters"`
	}
	readJSON(t, "main.parameters.json", &params)
	if s, ok := params.Parameters["reconcileSchedule"]; ok && s.Value != "0 */2 * * * *" {
		t.Errorf("main.parameters.json reconcileSchedule = %v, want the 2-minute default", s.Value)
	}
}

// Events from every subscription in scope (issue 16.2): a topic (created or reused) and an event
// subscription in each scope subscription, each SCOPE_PLS_IDS subscription and each Web PubSub
// resource's subscription, deployed by a subscription-scope module per subscription.
func TestEventsFromEverySubscription(t *testing.T) {
	main := loadBicep(t, "main.bicep")
	for _, re := range []string{
		`(?m)^var eventSubscriptionIds = union\(map\(scopeSubscriptionIds, [^\n]*map\(scopePlsIds, [^\n]*map\(webPubSubIds, `,
		`(?m)^  for sub in eventSubscriptionIds: \{`,
		`(?ms)^module topics 'modules/subscription-topics\.bicep' = \[\s*for \(src, i\) in eventSources: \{\s*name: [^\n]*\n\s*scope: subscription\(src\.subscriptionId\)`,
		`(?ms)^module eventSubscriptions 'modules/event-subscription\.bicep' = \[\s*for \(src, i\) in eventSources: if \(deployEventSubscription\) \{\s*name: [^\n]*\n\s*scope: resourceGroup\(src\.subscriptionId, src\.resourceGroup\)`,
		`reuse: contains\(existingSystemTopics, sub\)`,
		`createTopic: !src\.reuse`,
	} {
		if !regexp.MustCompile(re).MatchString(main.src) {
			t.Errorf("main.bicep does not match %s", re)
		}
	}
	sub := loadBicep(t, "modules/subscription-topics.bicep")
	if !regexp.MustCompile(`(?m)^targetScope = 'subscription'`).MatchString(sub.src) {
		t.Errorf("modules/subscription-topics.bicep must be a subscription-scope module")
	}
	topics := loadBicep(t, "modules/system-topics.bicep")
	if !regexp.MustCompile(`(?s)resource systemTopic '[^']+' = if \(createTopic\) \{.*?source: subscription\(\)\.id`).MatchString(topics.src) {
		t.Errorf("modules/system-topics.bicep: the topic's source must be the subscription it is deployed in, created only when none is reused")
	}
}

// The manual-request API is protected as the README claims (issue 16.4): entra by default, the
// auth settings wired, and with easyauth the Event Grid webhook stays reachable.
func TestAuthWiring(t *testing.T) {
	main := loadBicep(t, "main.bicep")
	p := main.params()["authMode"]
	if got, _ := literal(p.def); got != "entra" {
		t.Errorf("authMode defaults to %q, want entra", got)
	}
	settings := appSettings(t, main)
	for name, want := range map[string]string{"AUTH_MODE": "authMode", "AUTH_AUDIENCE": "authAudiences", "AUTH_AUTHORITY_HOST": "authorityHost", "APPROVERS": "approversSetting", "APPROVERS_FORCE": "approversForce"} {
		if got := settings[name].value; got != want {
			t.Errorf("%s = %q, want %s", name, got, want)
		}
	}
	if !strings.Contains(settings["AUTH_TENANT_ID"].value, "authTenantId") {
		t.Errorf("AUTH_TENANT_ID = %q, want it from authTenantId", settings["AUTH_TENANT_ID"].value)
	}
	if !regexp.MustCompile(`(?m)^var authAudienceSetting = authMode == 'key' \|\| !empty\(authAudience\) \? authAudience : fail\(`).MatchString(main.src) {
		t.Errorf("main.bicep: entra/easyauth without authAudience must fail before deploying")
	}
	open := main.block(regexp.MustCompile(`resource\s+\w+\s+'Microsoft\.Web/sites/config@[^']+'\s*=\s*if \(authMode == 'easyauth'\)\s*\{`), 0)
	if open < 0 {
		t.Fatalf("main.bicep: no sites/config authsettingsV2 resource conditional on authMode == 'easyauth'")
	}
	body := main.src[open:main.closing(open)]
	for _, re := range []string{
		`name: 'authsettingsV2'`,
		`requireAuthentication: true`,
		`unauthenticatedClientAction: 'Return401'`,
		`excludedPaths: \[\s*'/runtime/webhooks/eventgrid'\s*\]`,
		`allowedAudiences: \[\s*authAudienceSetting`,
	} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("authsettingsV2 does not match %s", re)
		}
	}
}
