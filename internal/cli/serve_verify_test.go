package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// A policy that relies on Web PubSub verification with no Web PubSub resource
// configured refuses to start (exit 2, naming WEBPUBSUB_IDS); with one, it starts.
func TestServeRefusesVerifiedByWithoutWebPubSub(t *testing.T) {
	pol := filepath.Join("..", "..", "examples", "policies", "webpubsub.yaml")
	run := func(settings map[string]string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(context.Background(), Env{Args: append([]string{"serve"}, args...), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return settings[k] }})
		return code, out.String(), errb.String()
	}
	env := map[string]string{"PLSGATE_TABLES_CONNECTION": "UseDevelopmentStorage=true", "PLSGATE_POLICY": pol}
	code, _, stderr := run(env, "--check")
	if code != ExitUsage || !strings.Contains(stderr, "setting WEBPUBSUB_IDS") || !strings.Contains(stderr, `"webpubsub-shared-endpoints" (line 17)`) {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if code, _, stderr := run(env); code != ExitUsage || !strings.Contains(stderr, "setting WEBPUBSUB_IDS") {
		t.Fatalf("serve: exit %d, stderr %s", code, stderr)
	}
	env["WEBPUBSUB_IDS"] = "/subscriptions/00000000-0000-0000-0000-0000000000a1/resourceGroups/contoso/providers/Microsoft.SignalRService/webPubSub/contoso-webpubsub"
	if code, stdout, stderr := run(env, "--check"); code != ExitOK || strings.Contains(stderr, "policy warning") {
		t.Fatalf("with WEBPUBSUB_IDS: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	// A policy without verifiedBy needs no Web PubSub resource.
	delete(env, "WEBPUBSUB_IDS")
	env["PLSGATE_POLICY"] = filepath.Join("..", "..", "examples", "policies", "saas-allowlist.yaml")
	if code, _, stderr := run(env, "--check"); code != ExitOK {
		t.Fatalf("without verifiedBy: exit %d, stderr %s", code, stderr)
	}
}

// serve logs the policy's warnings at start-up, e.g. a guessable request message.
func TestServeWarnsGuessableRequestMessage(t *testing.T) {
	pol := "version: 1\nrules:\n  - name: wps\n    match: {requestMessage: \"^please approve$\", verifiedBy: webPubSub}\n    action: approve\n"
	var out, errb bytes.Buffer
	code := Main(context.Background(), Env{Args: []string{"serve", "--check"}, Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		return map[string]string{"PLSGATE_TABLES_CONNECTION": "UseDevelopmentStorage=true", "PLSGATE_POLICY": pol,
			"WEBPUBSUB_IDS": "/subscriptions/00000000-0000-0000-0000-0000000000a1/resourceGroups/contoso/providers/Microsoft.SignalRService/webPubSub/contoso-webpubsub"}[k]
	}})
	if code != ExitOK || !strings.Contains(errb.String(), `matches \"please approve\"`) {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
}
