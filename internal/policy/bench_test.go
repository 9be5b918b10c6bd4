package policy

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// benchPolicy builds 50 rules that all pass status, the PLS ID glob and the tag check and
// differ only in the requester subscription, so every rule does real work; only the last
// one matches (the worst case). withCEL adds a `when` to the last rule.
//
// distinct=true gives every rule its own PLS ID glob (a star moved around inside
// resourceGroups/privateLinkServices, all still matching), so the ID globs are not
// shared between rules and each is evaluated 50 times over.
func benchPolicy(tb testing.TB, withCEL, distinct bool) *Policy {
	tb.Helper()
	var b strings.Builder
	b.WriteString("version: 1\ndefault: leave\nrules:\n")
	for i := range 50 {
		sub := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		if i == 49 {
			sub = subCust
		}
		rg, svc := "contoso", "privateLinkServices"
		if distinct {
			k, j := 1+i%18, 1+i/18
			svc = svc[:k] + "*" + svc[k:]
			rg = rg[:j] + "*" + rg[j:]
		}
		fmt.Fprintf(&b, `  - name: rule-%d
    match:
      status: [Pending]
      privateLinkService:
        ids: ["/subscriptions/*/resourceGroups/%s/providers/Microsoft.Network/%s/pls-*"]
        tags: {plsgate: enabled}
      requester: {subscriptions: [%q]}
      requestMessage: "^please approve$"
    action: approve
    message: "approved by plsgate rule {rule}"
`, i, rg, svc, sub)
		if i == 49 && withCEL {
			b.WriteString("    when: 'connection.description.startsWith(\"please\") && pls.location == \"westeurope\" && now.getFullYear() >= 2025'\n")
		}
	}
	p, err := Parse("bench.yaml", []byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func benchEvaluate(b *testing.B, withCEL, distinct bool) {
	p := benchPolicy(b, withCEL, distinct)
	f := baseFacts()
	if d := p.Evaluate(f); d.Rule != "rule-49" || len(d.Trace) != 50 {
		b.Fatalf("decision %s by %q after %d rules: %+v", d.Action, d.Rule, len(d.Trace), d.Trace)
	}
	b.ReportAllocs()
	runtime.LockOSThread() // so thread CPU time is this loop's
	defer runtime.UnlockOSThread()
	start, cpuOK := threadCPU()
	for b.Loop() {
		p.Evaluate(f)
	}
	if end, ok := threadCPU(); ok && cpuOK {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkEvaluate50Rules(b *testing.B)                  { benchEvaluate(b, false, false) }
func BenchmarkEvaluate50RulesOneCEL(b *testing.B)            { benchEvaluate(b, true, false) }
func BenchmarkEvaluate50RulesDistinctScopes(b *testing.B)    { benchEvaluate(b, false, true) }
func BenchmarkEvaluate50RulesDistinctScopesCEL(b *testing.B) { benchEvaluate(b, true, true) }

// BenchmarkTraceBaseline50 is the floor any Evaluate of 50 rules pays: one string
// comparison per rule and a 50-entry Trace. Compare Evaluate against it on a shared or
// slow machine, where absolute figures say little.
func BenchmarkTraceBaseline50(b *testing.B) {
	names := make([]string, 50)
	for i := range names {
		names[i] = fmt.Sprintf("rule-%d", i)
	}
	v, w := subCust, "00000000-0000-0000-0000-000000000049"
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, cpuOK := threadCPU()
	var d Decision
	for b.Loop() {
		trace := make([]RuleTrace, 0, 50)
		for i := range names {
			trace = append(trace, RuleTrace{Rule: names[i], Matched: strings.EqualFold(v, w), Reason: w})
		}
		d = Decision{Trace: trace}
	}
	if end, ok := threadCPU(); ok && cpuOK {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
	_ = d
}

func BenchmarkParse50Rules(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		benchPolicy(b, true, false)
	}
}
