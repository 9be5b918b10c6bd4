package cli

import (
	"bytes"
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
  plsgate policy eval FILE [--connection FILE_OR_JSON] [--pls FILE_OR_JSON] [--name NAME]
                           [--verified webPubSub] [--tenant GUID] [--now RFC3339]
                           [--output text|json]
      decide for one connection and explain every rule tried (exit 0; 2 on bad input)

FILE is a policy path (or inline YAML/JSON, as PLSGATE_POLICY); the format is described in
docs/policy.md. --connection and --pls take a file or JSON text in the ARM REST shape or as
az prints it. --connection must be a private endpoint connection (it has
properties.privateLinkServiceConnectionState), an ARM list of them ({"value": [...]}, as
GET .../privateEndpointConnections returns) with --name to pick one, or a private link
service with --name. With --pls, --connection may also be a connection name or ID, or be
omitted when the PLS has one connection.
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
	if !validOutput(*output) {
		return badOutput("check", *output, stderr)
	}
	if len(pos) != 1 {
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
	name := fset.String("name", "", "the connection to pick (its `NAME` or ID) from an ARM list given as --connection, or from the PLS")
	var verified listFlag
	fset.Var(&verified, "verified", "a verification `name` that holds, e.g. webPubSub (repeatable or comma-separated)")
	tenant := fset.String("tenant", "", "the requester's tenant `GUID`, when known")
	nowArg := fset.String("now", "", "the `RFC3339` time CEL sees as now (default: the current time)")
	output := fset.String("output", "text", "output `format`: text or json")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: plsgate policy eval FILE [--connection FILE_OR_JSON] [--pls FILE_OR_JSON] [--name NAME] [--verified webPubSub] [--tenant GUID] [--now RFC3339] [--output text|json]")
		fset.PrintDefaults()
	}
	pos, code, ok := parseFlags(fset, args, stderr)
	if !ok {
		return code
	}
	if !validOutput(*output) {
		return badOutput("eval", *output, stderr)
	}
	if len(pos) != 1 || (*connArg == "" && *plsArg == "") {
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
	if connJSON, plsJSON, err = pickConnection(connJSON, plsJSON, strings.TrimSpace(*name)); err != nil {
		fmt.Fprintf(stderr, "plsgate policy eval: %v\n", err)
		return ExitUsage
	}
	facts, err := policy.FactsFromARM(connJSON, plsJSON)
	if err != nil {
		fmt.Fprintf(stderr, "plsgate policy eval: %v\n", err)
		return ExitUsage
	}
	// FactsFromARM takes any object with an id or name; evaluating something that is not a
	// connection (a shared private link resource, a typo) would print a confident decision.
	if facts.Connection.Status == "" {
		fmt.Fprintf(stderr, "plsgate policy eval: %s\n", notConnection(connJSON))
		return ExitUsage
	}
	if !knownStatus(facts.Connection.Status) {
		fmt.Fprintf(stderr, "warning: connection status %q is not one plsgate knows (%s); evaluated as given, and plsgate acts only on Pending connections\n",
			facts.Connection.Status, strings.Join(armStatuses, ", "))
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
	note := statusNote(facts.Connection.Status, d.Action)
	if *output == "json" {
		return writeJSON(stdout, stderr, evalOutput{Decision: d, Facts: facts, Note: note})
	}
	writeDecision(stdout, p, facts, d, note)
	return ExitOK
}

// evalOutput is the --output json shape of `policy eval`.
type evalOutput struct {
	Decision policy.Decision `json:"decision"`
	Facts    policy.Facts    `json:"facts"`
	Note     string          `json:"note,omitempty"` // what the decision means for a connection that is not Pending
}

func badOutput(cmd, v string, stderr io.Writer) int {
	fmt.Fprintf(stderr, "plsgate policy %s: --output %q: want text or json\n", cmd, v)
	return ExitUsage
}

// armStatuses are the connection statuses ARM is known to report; the field is a free
// string (azure-rest-api-specs network PrivateLinkServiceConnectionState.status), so
// another value is warned about, not refused.
var armStatuses = []string{"Pending", "Approved", "Rejected", "Disconnected", "Removed"}

func knownStatus(s string) bool {
	for _, k := range armStatuses {
		if strings.EqualFold(k, s) {
			return true
		}
	}
	return false
}

// statusNote says what the decision means for the connection's status: plsgate acts only on
// Pending connections; for an Approved one the decision is a drift check (README: an Approved
// connection the policy would not approve is drift); Rejected is terminal in Azure.
func statusNote(status string, a policy.Action) string {
	switch {
	case strings.EqualFold(status, "Pending"):
		return ""
	case strings.EqualFold(status, "Approved"):
		if a == policy.Approve {
			return "" // approved and the policy agrees: nothing to report
		}
		return fmt.Sprintf("drift: the connection is Approved but the policy would not approve it (decision: %s). "+
			"plsgate acts only on Pending connections; reconcile reports this drift (DRIFT_MODE=report, the default) "+
			"or rejects the connection (DRIFT_MODE=enforce)", a)
	case strings.EqualFold(status, "Rejected"):
		return "the connection is Rejected, which is terminal in Azure: it can never be approved again (the requester " +
			"must create a new private endpoint). plsgate does not act on it, and it is not drift"
	case strings.EqualFold(status, "Disconnected"), strings.EqualFold(status, "Removed"):
		return fmt.Sprintf("the connection is %s (its private endpoint is gone): plsgate does not act on it, and it is not drift", status)
	}
	return fmt.Sprintf("the connection's status is %s, not Pending: plsgate acts only on Pending connections", status)
}

// isARMList reports whether data is a list of connections: a JSON array, or an ARM list
// response ({"value": [...]} without an id, as FactsFromARM reads it).
func isARMList(data []byte) bool {
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return false
	}
	if t[0] == '[' {
		return true
	}
	if t[0] != '{' {
		return false
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(t, &keys) != nil {
		return false
	}
	_, hasValue := keys["value"]
	_, hasID := keys["id"]
	return hasValue && !hasID
}

// pickConnection applies --name: it picks one connection out of an ARM list given as
// --connection, or names a connection of the PLS. A list always needs --name: evaluating
// "the first" or "the only" connection of a listing would be a guess.
func pickConnection(connJSON, plsJSON []byte, name string) (conn, pls []byte, err error) {
	if isARMList(connJSON) {
		return pickFromList(connJSON, name, plsJSON)
	}
	if name == "" {
		return connJSON, plsJSON, nil
	}
	q, _ := json.Marshal(name)
	t := bytes.TrimSpace(connJSON)
	switch {
	case len(t) == 0:
		if len(bytes.TrimSpace(plsJSON)) == 0 {
			return nil, nil, errors.New("--name picks a connection from --connection LIST or --pls PLS: give one of them")
		}
		return q, plsJSON, nil
	case t[0] == '"':
		return nil, nil, errors.New("--connection and --name both name the connection: give one")
	case len(bytes.TrimSpace(plsJSON)) == 0:
		// --connection is an object and --name picks inside it: it must be the PLS.
		return q, connJSON, nil
	}
	return nil, nil, errors.New("--name picks a connection from an ARM list or a private link service, but --connection is one object and --pls is given: drop --name")
}

func pickFromList(data []byte, name string, plsJSON []byte) (conn, pls []byte, err error) {
	t := bytes.TrimSpace(data)
	var items []json.RawMessage
	if t[0] == '[' {
		err = json.Unmarshal(t, &items)
	} else {
		var list struct {
			Value []json.RawMessage `json:"value"`
		}
		err = json.Unmarshal(t, &list)
		items = list.Value
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--connection: read ARM list: %w", err)
	}
	names := make([]string, 0, len(items))
	for _, it := range items {
		var c struct{ ID, Name string }
		if json.Unmarshal(it, &c) != nil {
			return nil, nil, errors.New("--connection: the ARM list holds something that is not a JSON object")
		}
		n := c.Name
		if n == "" {
			n = c.ID[strings.LastIndexByte(c.ID, '/')+1:]
		}
		if name != "" && (strings.EqualFold(n, name) || strings.HasPrefix(name, "/") && strings.EqualFold(strings.TrimRight(c.ID, "/"), strings.TrimRight(name, "/"))) {
			return it, plsJSON, nil
		}
		names = append(names, n)
	}
	switch {
	case len(items) == 0:
		return nil, nil, errors.New("--connection: the ARM list is empty: there is no connection to evaluate")
	case name == "":
		return nil, nil, fmt.Errorf("--connection is an ARM list of %d connection(s): pick one with --name NAME (names: %s)", len(items), shortList(names))
	}
	return nil, nil, fmt.Errorf("--name %q: no such connection in the ARM list (names: %s)", name, shortList(names))
}

func shortList(names []string) string {
	if len(names) > 10 {
		return strings.Join(names[:10], ", ") + fmt.Sprintf(", ... (%d in all)", len(names))
	}
	return strings.Join(names, ", ")
}

// notConnection explains a body without privateLinkServiceConnectionState, naming a shared
// private link resource (the requester's side) when it looks like one.
func notConnection(data []byte) string {
	msg := "the connection JSON is not a private endpoint connection (it has no properties.privateLinkServiceConnectionState.status); " +
		"expected a connection as GET .../privateLinkServices/{pls}/privateEndpointConnections/{name} (or az network " +
		"private-endpoint-connection show) returns it, an ARM list of them with --name NAME, or a private link service with --name NAME"
	var probe struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Properties struct {
			PrivateLinkResourceID string `json:"privateLinkResourceId"`
		} `json:"properties"`
	}
	if json.Unmarshal(data, &probe) == nil && (probe.Properties.PrivateLinkResourceID != "" ||
		strings.Contains(strings.ToLower(probe.ID+probe.Type), "sharedprivatelinkresources")) {
		msg += ". It looks like a shared private link resource (the requester's side, e.g. Web PubSub): evaluate the " +
			"connection it created on the private link service instead (the PLS's privateEndpointConnections)"
	}
	return msg
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

func writeDecision(w io.Writer, p *policy.Policy, f policy.Facts, d policy.Decision, note string) {
	rule := d.Rule
	if rule == "" {
		rule = "(default)"
	}
	fmt.Fprintf(w, "decision: %s\nrule:     %s\nreason:   %s\n", d.Action, rule, d.Reason)
	if d.Message != "" {
		fmt.Fprintf(w, "message:  %s\n", d.Message)
	}
	if note != "" {
		fmt.Fprintf(w, "note:     %s\n", note)
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
