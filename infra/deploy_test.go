package infra_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/testutil/extproc"
)

// deploy.sh runs against stubs on PATH: `az`, `make` and `curl` record their arguments (the
// real CLI cannot reach Azure here) and answer what the script asks for; PLSGATE_BIN points at a
// stub plsgate that records `policy check` and the settings `serve --check` is run with.

const azStub = `#!/usr/bin/env bash
echo "az $*" >>"$STUB_LOG"
args="$*"
if [[ -n "${STUB_FAIL:-}" && "$args" == *"$STUB_FAIL"* ]]; then echo "stub az: $STUB_FAIL refused" >&2; exit 1; fi
case "$args" in
"account show"*) echo 11111111-1111-1111-1111-111111111111 ;;
"cloud show"*) echo https://graph.microsoft.com/ ;;
"ad app list"*) echo "${STUB_EXISTING_APP:-}" ;;
"ad app create"*) echo 22222222-2222-2222-2222-222222222222 ;;
"ad app show"*"--query id "*) echo 33333333-3333-3333-3333-333333333333 ;;
"ad app show"*) echo "" ;;
"ad sp show"*) exit 3 ;;
"group show"*) [[ -n "${STUB_RG_LOCATION:-}" ]] || { echo "ResourceGroupNotFound" >&2; exit 3; }; echo "$STUB_RG_LOCATION" ;;
"eventgrid system-topic list"*"--subscription ${STUB_TOPIC_SUB:-none} "*) printf '%s\t%s\n' other-topic rg-shared ;;
"eventgrid system-topic list"*) ;;
"deployment group show"*functionAppName*) echo func-plsgate-x ;;
"deployment group show"*functionAppHostName*) echo func-plsgate-x.azurewebsites.net ;;
"deployment group show"*dryRun*) echo true ;;
"functionapp deployment source config-zip"*)
	n=$(( $(cat "$STUB_LOG.publish" 2>/dev/null || echo 0) + 1 )); echo "$n" >"$STUB_LOG.publish"
	(( n > ${STUB_PUBLISH_FAILS:-0} )) || { echo "stub az: storage refused the upload" >&2; exit 1; } ;;
"functionapp function keys list"*) echo stub-function-key ;;
esac
exit 0
`

const plsgateStub = `#!/usr/bin/env bash
echo "plsgate $*" >>"$STUB_LOG"
if [[ "$*" == "serve --check" ]]; then
	for v in SCOPE_SUBSCRIPTIONS SCOPE_PLS_IDS WEBPUBSUB_IDS AUTH_MODE AUTH_TENANT_ID AUTH_AUDIENCE APPROVERS DRY_RUN PLSGATE_POLICY STRAY_SETTING_FROM_SHELL PLSGATE_LOG_LEVEL; do
		echo "check-env $v=${!v-}" >>"$STUB_LOG"
	done
	[[ -z "${STUB_CHECK_FAIL:-}" ]] || { echo "plsgate: invalid configuration: setting DRIFT_MODE: \"fix\"" >&2; exit 2; }
fi
exit 0
`

const recordStub = `#!/usr/bin/env bash
echo "$(basename "$0") $*" >>"$STUB_LOG"
[[ "$(basename "$0")" != curl ]] || printf 200
exit 0
`

type deployRun struct {
	code           int
	stdout, stderr string
	calls          []string
}

func (r deployRun) has(prefix string) bool { return r.index(prefix) >= 0 }

func (r deployRun) index(prefix string) int {
	for i, c := range r.calls {
		if strings.HasPrefix(c, prefix) {
			return i
		}
	}
	return -1
}

func (r deployRun) count(prefix string) int {
	n := 0
	for _, c := range r.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func runDeploy(t *testing.T, env map[string]string, args ...string) deployRun {
	t.Helper()
	extproc.SkipShort(t, "bash deploy.sh")
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"az": azStub, "plsgate": plsgateStub, "make": recordStub, "curl": recordStub} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	log := filepath.Join(dir, "calls.log")
	cmd := exec.Command(bash, append([]string{"deploy.sh"}, args...)...)
	cmd.Env = append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"STUB_LOG="+log, "PLSGATE_BIN="+filepath.Join(bin, "plsgate"), "PLSGATE_DEPLOY_SLEEP=true",
		"STRAY_SETTING_FROM_SHELL=x", "PLSGATE_LOG_LEVEL=debug")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	r := deployRun{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running deploy.sh: %v", err)
	}
	if b, err := os.ReadFile(log); err == nil {
		r.calls = strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	return r
}

const (
	testSub    = "00000000-0000-0000-0000-0000000000a1"
	testPolicy = "../examples/policies/webpubsub.yaml"
)

func TestDeployRefusesWithoutScopeOrPolicy(t *testing.T) {
	cases := map[string]struct {
		args []string
		want []string
	}{
		"no scope":       {[]string{"-g", "rg", "-l", "westeurope", "--policy", testPolicy}, []string{"--scope-subscription", "--scope-pls"}},
		"no policy":      {[]string{"-g", "rg", "-l", "westeurope", "--scope-subscription", testSub}, []string{"--policy", "examples/policies/"}},
		"missing policy": {[]string{"-g", "rg", "-l", "westeurope", "--scope-subscription", testSub, "--policy", "nope.yaml"}, []string{"nope.yaml"}},
		"no group":       {[]string{"-l", "westeurope", "--scope-subscription", testSub, "--policy", testPolicy}, []string{"-g"}},
		"bad sub":        {[]string{"-g", "rg", "-l", "westeurope", "--scope-subscription", "prod", "--policy", testPolicy}, []string{"prod", "GUID"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := runDeploy(t, nil, c.args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2; stderr: %s", r.code, r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q: %s", w, r.stderr)
				}
			}
			if len(r.calls) > 0 {
				t.Errorf("refused, yet ran %q", r.calls)
			}
		})
	}
}

func TestDeployWhatIfStops(t *testing.T) {
	r := runDeploy(t, map[string]string{"STUB_RG_LOCATION": "westeurope"},
		"-g", "rg", "-l", "westeurope", "--scope-subscription", testSub, "--policy", testPolicy, "--what-if")
	if r.code != 0 {
		t.Fatalf("exit %d; stderr: %s", r.code, r.stderr)
	}
	if !r.has("az deployment group what-if --resource-group rg") {
		t.Errorf("no az deployment group what-if: %q", r.calls)
	}
	for _, not := range []string{"az deployment group create", "make package", "az group create", "az functionapp"} {
		if r.has(not) {
			t.Errorf("--what-if ran %q", not)
		}
	}
	if !r.has("plsgate serve --check") || !r.has("plsgate policy check") {
		t.Errorf("--what-if skipped the validation: %q", r.calls)
	}
}

func TestDeployFullRun(t *testing.T) {
	r := runDeploy(t, map[string]string{"STUB_RG_LOCATION": "northeurope", "STUB_PUBLISH_FAILS": "2", "STUB_TOPIC_SUB": testSub},
		"-g", "rg", "-l", "westeurope", "--scope-subscription", testSub, "--policy", testPolicy, "dryRun=true")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s\ncalls: %q", r.code, r.stdout, r.stderr, r.calls)
	}
	abs, _ := filepath.Abs(testPolicy)
	// Validation first: the policy, then serve's start-up check with the settings to deploy
	// (and none inherited from the shell), before anything is built or deployed.
	order := []string{"plsgate policy check " + abs, "plsgate serve --check", "make package POLICY=" + abs, "az deployment group create"}
	last := -1
	for _, o := range order {
		i := r.index(o)
		if i < 0 || i < last {
			t.Fatalf("want %q in order %q; calls: %q", o, order, r.calls)
		}
		last = i
	}
	for _, want := range []string{
		"check-env SCOPE_SUBSCRIPTIONS=" + testSub,
		"check-env AUTH_MODE=entra",
		"check-env AUTH_AUDIENCE=api://22222222-2222-2222-2222-222222222222,22222222-2222-2222-2222-222222222222",
		"check-env AUTH_TENANT_ID=11111111-1111-1111-1111-111111111111",
		"check-env APPROVERS=role:Approver",
		"check-env PLSGATE_POLICY=" + abs,
		"check-env DRY_RUN=true",
		"check-env STRAY_SETTING_FROM_SHELL=x", // not a setting: left alone
		"check-env PLSGATE_LOG_LEVEL=",         // a setting from the shell: not what gets deployed
	} {
		if !r.has(want) {
			t.Errorf("serve --check env lacks %q; calls: %q", want, r.calls)
		}
	}
	// The existing resource group in another region is reused, not re-created.
	if r.has("az group create") {
		t.Errorf("re-created the existing resource group")
	}
	// The app registration: created, exposed, Azure CLI pre-authorized, Approver role.
	if !r.has("az ad app create --display-name plsgate-plsgate") || !r.has("az ad app update --id 22222222-2222-2222-2222-222222222222 --identifier-uris api://22222222-2222-2222-2222-222222222222") {
		t.Errorf("app registration not created/exposed: %q", r.calls)
	}
	patch := r.calls[max(r.index("az rest --method PATCH"), 0)]
	for _, w := range []string{"user_impersonation", "04b07795-8ddb-461a-bbee-02f9e1bf7b46", `"value":"Approver"`} {
		if !strings.Contains(patch, w) {
			t.Errorf("app registration PATCH lacks %s: %s", w, patch)
		}
	}
	// Two deployments: infrastructure, then the event subscriptions once the function exists.
	creates := []string{}
	for _, c := range r.calls {
		if strings.HasPrefix(c, "az deployment group create") {
			creates = append(creates, c)
		}
	}
	if len(creates) != 2 || !strings.Contains(creates[0], "deployEventSubscription=false") || !strings.Contains(creates[1], "deployEventSubscription=true") {
		t.Fatalf("deployments: %q", creates)
	}
	for _, w := range []string{`scopeSubscriptionIds=["` + testSub + `"]`, "authMode=entra", "dryRun=true", "location=westeurope",
		`existingSystemTopics={"` + testSub + `":{"name":"other-topic","resourceGroup":"rg-shared"}}`} {
		if !strings.Contains(creates[0], w) {
			t.Errorf("deployment lacks %s: %s", w, creates[0])
		}
	}
	if fs, ev := r.index("az functionapp function show"), r.calls[r.index("az deployment group create")+1:]; fs < 0 || len(ev) == 0 || fs > r.index("az functionapp function keys list") {
		t.Errorf("function metadata sync is not awaited before the event subscriptions: %q", r.calls)
	}
	// The publish raced storage twice and was retried.
	if n := r.count("az functionapp deployment source config-zip"); n != 3 {
		t.Errorf("publish attempts = %d, want 3 (two refusals, then success)", n)
	}
	if !r.has("curl") || !strings.Contains(r.stdout, "/api/v1/status") || !strings.Contains(r.stdout, "az account get-access-token --resource api://") {
		t.Errorf("no status check or approver instructions:\n%s", r.stdout)
	}
}

func TestDeployFailureNamesStepAndNextCommand(t *testing.T) {
	cases := map[string]struct {
		env        map[string]string
		step, next string
		notRun     string
	}{
		"publish never succeeds": {map[string]string{"STUB_RG_LOCATION": "westeurope", "STUB_PUBLISH_FAILS": "100"},
			"step failed: Publishing dist/plsgate.zip", "Next: az functionapp deployment source config-zip -g rg -n func-plsgate-x", "az functionapp function show"},
		"bad setting": {map[string]string{"STUB_RG_LOCATION": "westeurope", "STUB_CHECK_FAIL": "1"},
			"step failed: Start-up validation", "Next: fix the setting", "az deployment group create"},
		"not logged in": {map[string]string{"STUB_FAIL": "account show"},
			"step failed: Azure account", "Next: az login", "az group"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := runDeploy(t, c.env, "-g", "rg", "-l", "westeurope", "--scope-subscription", testSub, "--policy", testPolicy)
			if r.code == 0 {
				t.Fatalf("exit 0, want a failure; calls: %q", r.calls)
			}
			if !strings.Contains(r.stderr, c.step) || !strings.Contains(r.stderr, c.next) {
				t.Errorf("stderr does not name the step (%q) and the next command (%q):\n%s", c.step, c.next, r.stderr)
			}
			if r.has(c.notRun) {
				t.Errorf("went on to %q after the failure", c.notRun)
			}
		})
	}
}
