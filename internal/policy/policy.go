package policy

import (
	"fmt"
	"strings"
	"time"
)

// Action is what a policy decides for a connection.
type Action string

const (
	Approve Action = "approve"
	Reject  Action = "reject"
	Leave   Action = "leave" // stay Pending: nothing is written
)

// Verification names accepted by `verifiedBy` (and expected as keys of Facts.Verified).
const VerifiedWebPubSub = "webPubSub"

// knownVerifications maps the lower-cased spelling to the canonical one.
var knownVerifications = map[string]string{strings.ToLower(VerifiedWebPubSub): VerifiedWebPubSub}

// Facts are everything a decision may look at. The json names are also the field names
// CEL expressions use (resource.type, pls.subscriptionId, connection.description, ...).
type Facts struct {
	// Resource is the resource the connection is on, of any kind plsgate manages (a private
	// link service first). FactsOf and FactsFromARM fill it.
	Resource Resource `json:"resource"`
	// PLS is the same resource seen as a private link service: FactsOf and FactsFromARM fill
	// it for a private link service and leave it empty for other kinds. It is what the CEL
	// variable pls shows. Evaluate reads it only when Resource has neither ID nor Type
	// (callers that predate Resource); the type is then the ID's, a PLS when the ID names
	// no type.
	PLS        PLS             `json:"pls"`
	Connection Connection      `json:"connection"`
	Requester  Requester       `json:"requester"`
	Verified   map[string]bool `json:"verified,omitempty"` // e.g. {"webPubSub": true}: computed by the caller
	Now        time.Time       `json:"now"`                // zero = time.Now() at evaluation
}

// Resource is the resource whose owner approves the connection. Type, SubscriptionID,
// ResourceGroup and Name are derived from ID at evaluation when left empty.
type Resource struct {
	Type           string            `json:"type"` // ARM type, e.g. Microsoft.Network/privateLinkServices
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	SubscriptionID string            `json:"subscriptionId"`
	ResourceGroup  string            `json:"resourceGroup"`
	Location       string            `json:"location"`
	Tags           map[string]string `json:"tags"`
	// Private link service facts (empty for other kinds).
	Alias        string   `json:"alias"`
	Visibility   []string `json:"visibility"`
	AutoApproval []string `json:"autoApproval"`
	Fqdns        []string `json:"fqdns"`
}

// PLS is the private link service the connection targets. SubscriptionID, ResourceGroup
// and Name are derived from ID at evaluation when left empty.
type PLS struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	SubscriptionID string            `json:"subscriptionId"`
	ResourceGroup  string            `json:"resourceGroup"`
	Location       string            `json:"location"`
	Alias          string            `json:"alias"`
	Tags           map[string]string `json:"tags"`
	Visibility     []string          `json:"visibility"`
	AutoApproval   []string          `json:"autoApproval"`
	Fqdns          []string          `json:"fqdns"`
}

// asPLS is r seen as a private link service.
func (r *Resource) asPLS() PLS {
	return PLS{ID: r.ID, Name: r.Name, SubscriptionID: r.SubscriptionID, ResourceGroup: r.ResourceGroup,
		Location: r.Location, Alias: r.Alias, Tags: r.Tags, Visibility: r.Visibility, AutoApproval: r.AutoApproval, Fqdns: r.Fqdns}
}

// asResource is p as a resource of type typ.
func (p *PLS) asResource(typ string) Resource {
	return Resource{Type: typ, ID: p.ID, Name: p.Name, SubscriptionID: p.SubscriptionID, ResourceGroup: p.ResourceGroup,
		Location: p.Location, Tags: p.Tags, Alias: p.Alias, Visibility: p.Visibility, AutoApproval: p.AutoApproval, Fqdns: p.Fqdns}
}

// Connection is one private endpoint connection. Description carries the requester's
// request message while the connection is Pending.
type Connection struct {
	ID                      string `json:"id"`
	Name                    string `json:"name"`
	Status                  string `json:"status"`
	Description             string `json:"description"`
	LinkIdentifier          string `json:"linkIdentifier"`
	PrivateEndpointID       string `json:"privateEndpointId"`
	PrivateEndpointLocation string `json:"privateEndpointLocation"`
}

// Requester is the consumer side. SubscriptionID and ResourceGroup are derived from
// Connection.PrivateEndpointID at evaluation when left empty; TenantID is only known when
// the caller looked it up ("" = unknown, and a tenants matcher then fails).
type Requester struct {
	SubscriptionID string `json:"subscriptionId"`
	ResourceGroup  string `json:"resourceGroup"`
	TenantID       string `json:"tenantId"`
}

// Decision is the outcome of Evaluate.
type Decision struct {
	Action  Action      `json:"action"`
	Rule    string      `json:"rule"`    // "" when the default applied
	Reason  string      `json:"reason"`  // one human sentence
	Message string      `json:"message"` // rendered `message` template (the description to write), may be ""
	Trace   []RuleTrace `json:"trace"`   // every rule tried, in order, why it matched or not
}

// RuleTrace says why one rule matched or not.
type RuleTrace struct {
	Rule    string `json:"rule"`
	Matched bool   `json:"matched"`
	Reason  string `json:"reason"`
}

// Policy is a compiled policy. It is immutable and safe for concurrent use.
type Policy struct {
	source        string
	version       int
	def           Action
	defReason     string
	defTrace      string
	rules         []rule
	verifications []string
	warnings      []string
}

// Verifications lists the verification names the rules use (sorted), so the caller computes
// only the facts the policy needs, e.g. ["webPubSub"].
func (p *Policy) Verifications() []string { return append([]string(nil), p.verifications...) }

// Warnings lists non-fatal findings ("file:line: field: message"), e.g. unreachable rules.
func (p *Policy) Warnings() []string { return append([]string(nil), p.warnings...) }

// Summary describes a compiled policy for `plsgate policy check`. It is an addition to the
// shared contract (read-only; the engine does not need it).
type Summary struct {
	Source        string        `json:"source"`
	Version       int           `json:"version"`
	Default       Action        `json:"default"`
	Rules         []RuleSummary `json:"rules"`
	Verifications []string      `json:"verifications"`
	Warnings      []string      `json:"warnings"`
}

// RuleSummary describes one rule.
type RuleSummary struct {
	Name    string   `json:"name"`
	Line    int      `json:"line"`
	Action  Action   `json:"action"`
	Match   []string `json:"match"` // one entry per matcher, e.g. `privateLinkService.tags: plsgate=enabled`
	When    string   `json:"when,omitempty"`
	Message string   `json:"message,omitempty"`
}

// Summary returns a description of the policy.
func (p *Policy) Summary() Summary {
	s := Summary{Source: p.source, Version: p.version, Default: p.def,
		Verifications: p.Verifications(), Warnings: p.Warnings(), Rules: make([]RuleSummary, 0, len(p.rules))}
	for i := range p.rules {
		r := &p.rules[i]
		rs := RuleSummary{Name: r.name, Line: r.line, Action: r.action, Match: []string{}, Message: r.message.src}
		for j := range r.matchers {
			rs.Match = append(rs.Match, r.matchers[j].describe)
		}
		if r.when != nil {
			rs.When = r.when.src
		}
		s.Rules = append(s.Rules, rs)
	}
	return s
}

// LoadError is one problem found while loading a policy. Line is 0 when unknown.
type LoadError struct {
	File  string
	Line  int
	Field string // e.g. "rules[2].match.connection.requestMessage"; "" for the whole file
	Msg   string
}

func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// actionSentence is the tail of Decision.Reason for each action.
func actionSentence(a Action) string {
	switch a {
	case Approve:
		return "the connection is approved"
	case Reject:
		return "the connection is rejected"
	default:
		return "plsgate does not approve it and leaves it as it is (a Pending connection stays Pending)"
	}
}
