package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/plsgate/plsgate/internal/policy"
)

const policyUsageText = `usage:
  plsgate policy check FILE [--output text|json]
      validate a policy file and summarise its rules (exit 0 valid, 2 invalid)
  plsgate policy eval FILE [--connection FILE_OR_JSON] [--pls FILE_OR_JSON]
                           [--verified webPubSub] [--tenant GUID] [--now RFC3339]
                           [--output text|json]
      decide for one connection and explain every rule tried (exit 0; 2 on bad input)

FILE is a policy path (or inline YAML/JSON, as PLSGATE_POLICY). --connection and --pls take
a file or JSON text in the ARM REST shape or as az prints it. With --pls, --connection may
also be a connection name or ID, or be omitted when the PLS has one connection.
`

// Policy runs `plsgate policy ...`; args are the arguments after "policy".
func Policy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	_ = ctx // evaluation is pure and fast: nothing to cancel
	if len(args) == 0 {
		fmt.Fprint(stderr, policyUsageText)
		return ExitUsage
	}
	switch args[0] {
	case "check":
		return policyCheck(args[1:], stdout, stderr)
	case "eval":
		return policyEval(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, policyUsageText)
		return ExitOK
	}
	fmt.Fprintf(stderr, "plsgate policy: unknown subcommand %q\n\n%s", args[0], policyUsageText)
	return ExitUsage
}

func policyCheck(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("plsgate policy check", flag.ContinueOnError)
	fset.SetOutput(stderr)
	output := fset.String("output", "text", "output `format`: text or json")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: plsgate policy check FILE [--output text|json]")
		fset.PrintDefaults()
	}
	pos, code, ok := parseFlags(fset, args, stderr)
	if !ok {
		return code
	}
	if len(pos) != 1 || !validOutput(*output) {
		fset.Usage()
		return ExitUsage
	}
	p, ok := loadPolicy("check", pos[0], stderr)
	if !ok {
		return ExitUsage
	}
	s := p.Summary()
	if *output == "json" {
		return writeJSON(stdout, stderr, s)
	}
	writeSummary(stdout, s)
	return ExitOK
}

func policyEval(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("plsgate policy eval", flag.ContinueOnError)
	fset.SetOutput(stderr)
	connArg := fset.String("connection", "", "the connection: a `FILE_OR_JSON`, or (with --pls) its name or ID")
	plsArg := fset.String("pls", "", "the private link service: a `FILE_OR_JSON` as GET privateLinkServices/{name} returns it")
	var verified listFlag
	fset.Var(&verified, "verified", "a verification `name` that holds, e.g. webPubSub (repeatable or comma-separated)")
	tenant := fset.String("tenant", "", "the requester's tenant `GUID`, when known")
	nowArg := fset.String("now", "", "the `RFC3339` time CEL sees as now (default: the current time)")
	output := fset.String("output", "text", "output `format`: text or json")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: plsgate policy eval FILE [--connection FILE_OR_JSON] [--pls FILE_OR_JSON] [--verified webPubSub] [--tenant GUID] [--now RFC3339] [--output text|json]")
		fset.PrintDefaults()
	}
	pos, code, ok := parseFlags(fset, args, stderr)
	if !ok {
		return code
	}
	if len(pos) != 1 || !validOutput(*output) || (*connArg == "" && *plsArg == "") {
		if len(pos) == 1 && *connArg == "" && *plsArg == "" {
			fmt.Fprintln(stderr, "plsgate policy eval: give --connection (and/or --pls)")
		}
		fset.Usage()
		return ExitUsage
	}
	now := time.Now().UTC()
	if *nowArg != "" {
		t, err := time.Parse(time.RFC3339, *nowArg)
		if err != nil {
			fmt.Fprintf(stderr, "plsgate policy eval: --now: %v\n", err)
			return ExitUsage
		}
		now = t
	}
	p, ok := loadPolicy("eval", pos[0], stderr)
	if !ok {
		return ExitUsage
	}
	plsJSON, err := readInput(*plsArg, false)
	if err != nil {
		fmt.Fprintf(stderr, "plsgate policy eval: --pls: %v\n", err)
		return ExitUsage
	}
	connJSON, err := readInput(*connArg, plsJSON != nil)
	if err != nil {
		fmt.Fprintf(stderr, "plsgate policy eval: --connection: %v\n", err)
		return ExitUsage
	}
	facts, err := policy.FactsFromARM(connJSON, plsJSON)
	if err != nil {
		fmt.Fprintf(stderr, "plsgate policy eval: %v\n", err)
		return ExitUsage
	}
	facts.Requester.TenantID = *tenant
	facts.Now = now
	for _, v := range verified {
		if !strings.EqualFold(v, policy.VerifiedWebPubSub) {
			fmt.Fprintf(stderr, "plsgate policy eval: --verified: unknown verification %q (known: %s)\n", v, policy.VerifiedWebPubSub)
			return ExitUsage
		}
		if facts.Verified == nil {
			facts.Verified = map[string]bool{}
		}
		facts.Verified[policy.VerifiedWebPubSub] = true
	}
	for _, w := range p.Warnings() {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	d := p.Evaluate(facts)
	if *output == "json" {
		return writeJSON(stdout, stderr, evalOutput{Decision: d, Facts: facts})
	}
	writeDecision(stdout, p, facts, d)
	return ExitOK
}

// evalOutput is the --output json shape of `policy eval`.
type evalOutput struct {
	Decision policy.Decision `json:"decision"`
	Facts    policy.Facts    `json:"facts"`
}

// parseFlags parses flags placed before or after positional arguments ("eval FILE
// --connection X" and "eval --connection X FILE" both work); "--" ends the flags.
func parseFlags(fset *flag.FlagSet, args []string, stderr io.Writer) (pos []string, code int, ok bool) {
	for {
		if err := fset.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, ExitOK, false
			}
			return nil, ExitUsage, false // flag already printed the error and usage
		}
		rest := fset.Args()
		if len(rest) == 0 {
			return pos, 0, true
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), 0, true
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

func validOutput(s string) bool { return s == "text" || s == "json" }

func loadPolicy(cmd, source string, stderr io.Writer) (*policy.Policy, bool) {
	p, err := policy.Load(source)
	if err == nil {
		return p, true
	}
	var le *policy.LoadError
	if !errors.As(err, &le) {
		fmt.Fprintf(stderr, "plsgate policy %s: %v\n", cmd, err)
		return nil, false
	}
	fmt.Fprintf(stderr, "plsgate policy %s: invalid policy:\n", cmd)
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(stderr, "  %s\n", line)
	}
	return nil, false
}

// readInput returns JSON text, a file's content, or (allowName) a bare connection name or
// ID quoted as a JSON string for FactsFromARM to look up in the PLS.
func readInput(v string, allowName bool) ([]byte, error) {
	t := strings.TrimSpace(v)
	if t == "" {
		return nil, nil
	}
	if strings.ContainsAny(t[:1], `{["`) {
		return []byte(t), nil
	}
	b, err := os.ReadFile(t)
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if !allowName {
		return nil, fmt.Errorf("%s: no such file, and not JSON", t)
	}
	q, _ := json.Marshal(t)
	return q, nil
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

func writeJSON(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "plsgate policy: write output: %v\n", err)
		return ExitRuntime
	}
	return ExitOK
}

func writeSummary(w io.Writer, s policy.Summary) {
	plural := "s"
	if len(s.Rules) == 1 {
		plural = ""
	}
	fmt.Fprintf(w, "%s: valid (version %d, %d rule%s, default %s)\n", s.Source, s.Version, len(s.Rules), plural, s.Default)
	if len(s.Rules) > 0 {
		fmt.Fprintln(w, "\nrules (first match wins):")
	}
	for i, r := range s.Rules {
		fmt.Fprintf(w, "  %d. %s -> %s  (line %d)\n", i+1, r.Name, r.Action, r.Line)
		if len(r.Match) == 0 && r.When == "" {
			fmt.Fprintln(w, "       matches every connection")
		}
		for _, m := range r.Match {
			fmt.Fprintf(w, "       %s\n", m)
		}
		if r.When != "" {
			fmt.Fprintf(w, "       when: %s\n", strings.Join(strings.Fields(r.When), " "))
		}
		if r.Message != "" {
			fmt.Fprintf(w, "       message: %q\n", r.Message)
		}
	}
	fmt.Fprintf(w, "  otherwise: %s\n", s.Default)
	if len(s.Verifications) > 0 {
		fmt.Fprintf(w, "\nverifications used: %s\n", strings.Join(s.Verifications, ", "))
	}
	if len(s.Warnings) > 0 {
		fmt.Fprintln(w, "\nwarnings:")
		for _, x := range s.Warnings {
			fmt.Fprintf(w, "  %s\n", x)
		}
	}
}

func writeDecision(w io.Writer, p *policy.Policy, f policy.Facts, d policy.Decision) {
	rule := d.Rule
	if rule == "" {
		rule = "(default)"
	}
	fmt.Fprintf(w, "decision: %s\nrule:     %s\nreason:   %s\n", d.Action, rule, d.Reason)
	if d.Message != "" {
		fmt.Fprintf(w, "message:  %s\n", d.Message)
	}
	if f.Connection.Status != "" && !strings.EqualFold(f.Connection.Status, "Pending") && d.Action != policy.Leave {
		fmt.Fprintf(w, "note:     the connection is %s; plsgate only acts on Pending connections (this decision only reports drift)\n", f.Connection.Status)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "connection: %s (%s) request message %q\n", f.Connection.Name, orUnknown(f.Connection.Status), f.Connection.Description)
	fmt.Fprintf(w, "pls:        %s\n", orUnknown(f.PLS.ID))
	fmt.Fprintf(w, "requester:  subscription %s, resource group %s, tenant %s, location %s\n", orUnknown(f.Requester.SubscriptionID),
		orUnknown(f.Requester.ResourceGroup), orUnknown(f.Requester.TenantID), orUnknown(f.Connection.PrivateEndpointLocation))
	var ver []string
	for _, v := range p.Verifications() {
		ver = append(ver, fmt.Sprintf("%s=%t", v, f.Verified[v]))
	}
	if len(ver) > 0 {
		fmt.Fprintf(w, "verified:   %s\n", strings.Join(ver, ", "))
	}
	fmt.Fprintln(w, "\ntrace (first match wins):")
	if len(d.Trace) == 0 {
		fmt.Fprintln(w, "  (no rules)")
	}
	for i, t := range d.Trace {
		mark := "no "
		if t.Matched {
			mark = "YES"
		}
		fmt.Fprintf(w, "  %d. %s %s: %s\n", i+1, mark, t.Rule, t.Reason)
	}
	if d.Rule == "" {
		fmt.Fprintf(w, "  -> default: %s\n", d.Action)
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
