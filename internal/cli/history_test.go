package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/store"
	"github.com/plsgate/plsgate/internal/testenv"
)

func TestHistoryUsage(t *testing.T) {
	getenv := func(name string) string {
		return map[string]string{"PLSGATE_TABLES_CONNECTION": "UseDevelopmentStorage=true", "PLSGATE_TABLE_PREFIX": "bad-prefix!"}[name]
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no pls", nil, ExitUsage, "--pls is required"},
		{"positional", []string{"--pls", testenv.PLSID, "extra"}, ExitUsage, `unexpected arguments ["extra"]`},
		{"limit zero", []string{"--pls", testenv.PLSID, "--limit", "0"}, ExitUsage, "--limit 0: want 1 to 1000"},
		{"limit too big", []string{"--pls", testenv.PLSID, "--limit", "5000"}, ExitUsage, "--limit 5000"},
		{"bad output", []string{"--pls", testenv.PLSID, "--output", "csv"}, ExitUsage, `--output "csv"`},
		{"bad pls", []string{"--pls", "contoso-pls"}, ExitUsage, "--pls:"},
		{"unknown flag", []string{"--since", "1h"}, ExitUsage, "flag provided but not defined: -since"},
		{"invalid configuration", []string{"--pls", testenv.PLSID}, ExitUsage, "setting PLSGATE_TABLE_PREFIX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code, stdout := run(t, getenv, &stderr, append([]string{"history"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant stderr ~ %q", code, tt.code, stdout, stderr.String(), tt.stderr)
			}
		})
	}
}

// seedHistory records a connection's journey and one row of another connection, at fixed times.
func seedHistory(t *testing.T, st *store.Store) {
	t.Helper()
	at := time.Date(2026, 11, 25, 11, 50, 0, 0, time.UTC)
	rows := []store.Transition{
		{Connection: "pe1.6a1c3b", Subject: "connection", From: "", To: "Pending", Action: "observe", Phase: "observed", Actor: "observed",
			Reason: "connection requested: partner: acme", Trigger: "timer", InvocationID: "inv-1", Cause: "observed||Pending"},
		{Connection: "pe1.6a1c3b", Subject: "connection", From: "Pending", To: "Approved", Action: "approve", Phase: "done", Actor: "rule:partner",
			Rule: "partner", Reason: "rule partner matched: requester subscription 11111111-1111-1111-1111-111111111111 is allowed", Trigger: "event", EventID: "ev-42", Cause: "act|approve|rule:partner"},
		{Connection: "pe2.77aa01", Subject: "connection", From: "", To: "Pending", Action: "observe", Phase: "observed", Actor: "observed",
			Reason: "connection requested", Trigger: "cli", Cause: "observed||Pending"},
		{Connection: "pe1.6a1c3b", Subject: "drift", From: "Approved", To: "Approved", Action: "leave", Phase: "drift", Actor: "policy",
			Reason: "approved, but the policy now says leave: no rule matched", Trigger: "timer", Cause: "drift|leave:"},
	}
	for i := range rows {
		r := rows[i]
		r.PLSID = testenv.PLSID
		r.At = at.Add(time.Duration(i) * time.Minute)
		if _, err := st.AppendTransition(t.Context(), &r); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHistoryOutputs(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoEvents: true})
	seedHistory(t, env.App.Store)
	var stderr bytes.Buffer

	code, out := run(t, env.Getenv, &stderr, "history", "--pls", testenv.PLSID, "--output", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr.String())
	}
	golden(t, "history-pls.json", out)

	code, out = run(t, env.Getenv, &stderr, "history", "--pls", testenv.PLSID)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr.String())
	}
	golden(t, "history-pls.txt", out)

	// One connection, newest first, limited.
	code, out = run(t, env.Getenv, &stderr, "history", "--pls", strings.ToUpper(testenv.PLSID), "--connection", "pe1.6a1c3b", "--limit", "2", "--output", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr.String())
	}
	var h historyOutput
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatal(err)
	}
	if len(h.Items) != 2 || h.Items[0].Subject != "drift" || h.Items[1].To != "Approved" || h.Items[1].EventID != "ev-42" {
		t.Errorf("--connection --limit 2: %+v", h.Items)
	}
	code, out = run(t, env.Getenv, &stderr, "history", "--pls", testenv.PLSID, "--connection", "pe1.6a1c3b")
	if code != ExitOK || !strings.Contains(out, "3 transitions of connection pe1.6a1c3b on") || strings.Contains(out, "CONNECTION") {
		t.Errorf("--connection text: exit %d\n%s", code, out)
	}
}

func TestHistoryEmpty(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoEvents: true})
	var stderr bytes.Buffer
	code, out := run(t, env.Getenv, &stderr, "history", "--pls", otherPLSID)
	if code != ExitOK || !strings.Contains(out, "no transitions recorded for connections of "+otherPLSID) {
		t.Errorf("exit %d\n%s\n%s", code, out, stderr.String())
	}
	code, out = run(t, env.Getenv, &stderr, "history", "--pls", otherPLSID, "--output", "json")
	if code != ExitOK || !strings.Contains(out, `"items": []`) {
		t.Errorf("json: exit %d\n%s", code, out)
	}
}

// What a reconcile does shows up in the history, newest first.
func TestHistoryAfterReconcile(t *testing.T) {
	env := startCLIEnv(t)
	var stderr bytes.Buffer
	if code, out := run(t, env.Getenv, &stderr, "reconcile"); code != ExitOK {
		t.Fatalf("reconcile: exit %d\n%s\n%s", code, out, stderr.String())
	}
	code, out := run(t, env.Getenv, &stderr, "history", "--pls", testenv.PLSID, "--connection", "pe-partner.1", "--output", "json")
	if code != ExitOK {
		t.Fatalf("history: exit %d\n%s\n%s", code, out, stderr.String())
	}
	var h historyOutput
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range h.Items {
		got = append(got, it.From+">"+it.To+" "+it.Phase+" "+it.Actor+" "+it.Trigger)
	}
	want := []string{"Pending>Approved done rule:partner cli", ">Pending observed observed cli"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("history:\n got %q\nwant %q", got, want)
	}
}
