package policy

import (
	"regexp"
	"strings"
	"testing"
)

// A verifiedBy rule warns when its request message is absent, matches the
// docs' "please approve" in any letter case, or needs fewer than 12 literal
// characters: on a PLS visible to anyone, such a message lets an outsider
// stand next to the real request.
func TestGuessableRequestMessageWarnings(t *testing.T) {
	const (
		absent = `p.yaml:6: rules[0].match.verifiedBy: no requestMessage`
		phrase = `matches "please approve" (in some letter case)`
		short  = `requires only`
	)
	tests := []struct {
		name, match string
		want        []string // substrings, one warning each, in order
	}{
		{"absent", "verifiedBy: webPubSub", []string{absent}},
		{"docs phrase", `verifiedBy: webPubSub, requestMessage: "^please approve$"`, []string{phrase}},
		{"docs phrase, other case", `verifiedBy: webPubSub, requestMessage: "^PLEASE Approve$"`, []string{phrase}},
		{"docs phrase, case-insensitive", `verifiedBy: webPubSub, requestMessage: "(?i)^please approve$"`, []string{phrase}},
		{"docs phrase inside", `verifiedBy: webPubSub, requestMessage: "please approve"`, []string{phrase}},
		{"anything", `verifiedBy: webPubSub, requestMessage: ".*"`, []string{phrase, short + " 0 literal"}},
		{"short", `verifiedBy: webPubSub, requestMessage: "^wps approve$"`, []string{short + " 11 literal"}},
		{"classes are not literals", `verifiedBy: webPubSub, requestMessage: "^[0-9a-f]{32}$"`, []string{short + " 0 literal"}},
		{"weakest branch counts", `verifiedBy: webPubSub, requestMessage: "^(abc|plsgate-wps-3f9c1e7a52d84b60)$"`, []string{short + " 3 literal"}},
		{"optional part does not count", `verifiedBy: webPubSub, requestMessage: "^plsgate(-wps-3f9c1e7a52d84b60)?$"`, []string{short + " 7 literal"}},
		{"under connection", `verifiedBy: webPubSub, connection: {requestMessage: "^wps$"}`, []string{short + " 3 literal"}},
		{"unguessable", `verifiedBy: webPubSub, requestMessage: "^plsgate-wps-3f9c1e7a52d84b60$"`, nil},
		{"repeat counts", `verifiedBy: webPubSub, requestMessage: "^(wps-7f3a){3}$"`, nil},
		{"other phrase case-sensitive", `verifiedBy: webPubSub, requestMessage: "^Please approve, plsgate!$"`, nil},
		{"no verifiedBy: not this warning", `requestMessage: "^please approve$"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParseNamed(t, "p.yaml", "version: 1\nrules:\n  - name: a\n    action: approve\n    match:\n      "+strings.ReplaceAll(tt.match, ", ", "\n      ")+"\n")
			got := p.Warnings()
			if len(got) != len(tt.want) {
				t.Fatalf("warnings %q, want %d matching %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %q lacks %q", got[i], w)
				}
			}
		})
	}
}

func TestLiteralChars(t *testing.T) {
	for expr, want := range map[string]int{
		"^abc$": 3, "a+b*c?": 1, "(ab|cde)fg": 4, "x{2,5}y": 3, "[a-z]{40}": 0, ".": 0, "": 0, "(?i)abc": 3, "(ab){3}": 6,
	} {
		if got := literalChars(expr); got != want {
			t.Errorf("literalChars(%q) = %d, want %d", expr, got, want)
		}
	}
}

func TestMatchesAnyCase(t *testing.T) {
	for expr, want := range map[string]bool{
		"^please approve$": true, "^PLEASE APPROVE$": true, "(?-i:^PLEASE approve$)": true, "^pl[e]ase appro(v|w)e$": true,
		"^please approved$": false, "(?-i:^PLEASE approve!$)": false, "^plsgate-wps$": false,
	} {
		if got := matchesAnyCase(regexp.MustCompile(expr), docsPhrase); got != want {
			t.Errorf("matchesAnyCase(%q) = %v, want %v", expr, got, want)
		}
	}
}
