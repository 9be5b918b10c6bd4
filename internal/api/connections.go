package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

// OutcomeJSON is one reconcile.Outcome on the wire (also `plsgate reconcile --output json`). Error is generic: the detail is in the
// logs and the connection's history.
type OutcomeJSON struct {
	PrivateLinkServiceID string `json:"privateLinkServiceId"`
	Connection           string `json:"connection"`
	ConnectionID         string `json:"connectionId,omitempty"`
	From                 string `json:"from"`
	To                   string `json:"to"`
	Result               string `json:"result"`
	Action               string `json:"action,omitempty"`
	Rule                 string `json:"rule,omitempty"`
	Reason               string `json:"reason,omitempty"`
	// Category: override (a person approved against the policy), approvedOutsidePlsgate or
	// policyChanged (drift), revoked (a person rejected an Approved connection).
	Category string `json:"category,omitempty"`
	Error    string `json:"error,omitempty"`
}

// NewOutcomeJSON maps an outcome to its wire form; Error stays generic.
func NewOutcomeJSON(o reconcile.Outcome) OutcomeJSON {
	j := OutcomeJSON{
		PrivateLinkServiceID: o.PLSID, Connection: o.Connection, ConnectionID: o.ConnectionID,
		From: o.From, To: o.To, Result: string(o.Result), Action: string(o.Action), Rule: o.Rule, Reason: o.Reason,
		Category: string(o.Category),
	}
	if o.Err != nil {
		j.Error = "failed; see the connection's history and plsgate's logs"
		if classify(o.Err).status == http.StatusServiceUnavailable { // the answers table (errors.go)
			j.Error = "failed for now (a dependency is unavailable); it is retried by the next reconcile"
		}
	}
	return j
}

// decisionResponse answers approve/reject.
type decisionResponse struct {
	OutcomeJSON
	Actor string `json:"actor"`
}

func (a *API) approve(w http.ResponseWriter, r *http.Request) { a.decide(w, r, policy.Approve) }
func (a *API) reject(w http.ResponseWriter, r *http.Request)  { a.decide(w, r, policy.Reject) }

// decide is approve/reject: authenticate, authorize, then the reconciler's Apply (claim, intent
// row with actor and reason, ARM write, done row).
func (a *API) decide(w http.ResponseWriter, r *http.Request, action policy.Action) {
	// Identify before reading the body: an unauthorized caller learns nothing about validation.
	actor, id, err := a.authenticate(r)
	if err != nil {
		a.writeAuthError(w, r, err)
		return
	}
	data, err := readBody(w, r, a.o.MaxBodyBytes)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	req, err := parseDecisionRequest(data)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.checkConnectionScope(req.ConnectionID); err != nil {
		a.writeError(w, r, err)
		return
	}
	if req.Force {
		if err := a.auth.allowForce(id); err != nil {
			a.writeAuthError(w, r, err)
			return
		}
	}
	log := a.logger(r).With("action", string(action), "connection", req.ConnectionID, "actor", actor, "force", req.Force)
	o, err := a.o.Deciders.Apply(r.Context(), reconcile.ManualRequest{
		ConnectionID: req.ConnectionID, Action: action, Actor: actor, Reason: req.Reason, Force: req.Force,
	}, a.trigger(r, actor))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	log.Info("manual decision applied", "result", string(o.Result), "to", o.To)
	writeJSON(w, log, http.StatusOK, decisionResponse{OutcomeJSON: NewOutcomeJSON(o), Actor: actor})
}

// connectionJSON is one stored connection on the wire (ETags and lease fields stay inside).
type connectionJSON struct {
	PrivateLinkServiceID  string `json:"privateLinkServiceId"`
	Name                  string `json:"name"`
	ConnectionID          string `json:"connectionId"`
	Status                string `json:"status"`
	Description           string `json:"description,omitempty"`
	PrivateEndpointID     string `json:"privateEndpointId,omitempty"`
	RequesterSubscription string `json:"requesterSubscription,omitempty"`
	LinkIdentifier        string `json:"linkIdentifier,omitempty"`
	// LastDecision is plsgate's last decision in words (decisionText): approve, reject, leave,
	// ambiguous, "dry run: would approve", "approve failed"; the rule is in lastRule.
	LastDecision  string `json:"lastDecision,omitempty"`
	LastRule      string `json:"lastRule,omitempty"`
	LastActor     string `json:"lastActor,omitempty"`
	PendingAction string `json:"pendingAction,omitempty"`
	// Drift is an Approved connection the policy does not approve, as a sentence; DriftCategory
	// says whose approval it is (approvedOutsidePlsgate, policyChanged).
	Drift         string `json:"drift,omitempty"`
	DriftCategory string `json:"driftCategory,omitempty"`
	// Override: the approval is a person's, forced against the policy (never drift).
	Override  *overrideJSON `json:"override,omitempty"`
	UpdatedAt time.Time     `json:"updatedAt"`
}

type overrideJSON struct {
	Actor  string    `json:"actor"`
	Reason string    `json:"reason,omitempty"`
	Policy string    `json:"policy,omitempty"` // what the policy said: "leave by default"
	At     time.Time `json:"at"`
}

func toConnectionJSON(c store.Connection) connectionJSON {
	id := c.ConnectionID
	if id == "" {
		id = strings.TrimRight(c.PLSID, "/") + "/privateEndpointConnections/" + c.Name
	}
	j := connectionJSON{
		PrivateLinkServiceID: c.PLSID, Name: c.Name, ConnectionID: id, Status: c.Status, Description: c.Description,
		PrivateEndpointID: c.PrivateEndpointID, RequesterSubscription: c.RequesterSubscription, LinkIdentifier: c.LinkIdentifier,
		LastDecision: decisionText(c.LastDecision), LastRule: c.LastRule, LastActor: c.LastActor, PendingAction: c.PendingAction,
		UpdatedAt: c.UpdatedAt,
	}
	if c.Drift != "" {
		j.Drift, j.DriftCategory = reconcile.DescribeDrift(&c), string(reconcile.DriftCategory(&c))
	}
	if reconcile.IsOverride(&c) {
		j.Override = &overrideJSON{Actor: c.OverrideActor, Reason: c.OverrideReason, Policy: c.OverridePolicy, At: c.OverrideAt}
	}
	return j
}

type connectionsResponse struct {
	Items        []connectionJSON `json:"items"`
	Continuation string           `json:"continuation,omitempty"`
}

// statuses maps any casing to ARM's spelling (the store filters case-sensitively).
var statuses = map[string]string{}

func init() {
	for _, s := range []string{reconcile.StatusPending, reconcile.StatusApproved, reconcile.StatusRejected, reconcile.StatusDisconnected, reconcile.StatusRemoved} {
		statuses[strings.ToLower(s)] = s
	}
}

const (
	defaultLimit = 100
	maxLimit     = 1000
)

// queryParams checks that q holds only the allowed keys, each at most once. "code" is the
// function key the host already checked: allowed, never read.
func queryParams(q url.Values, allowed ...string) error {
	for k, vs := range q {
		if k == "code" {
			continue
		}
		if !containsFold(allowed, k) {
			return badRequest(CodeBadRequest, "unknown query parameter "+strconv.Quote(clip(k, 40))+"; known: "+strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return badRequest(CodeBadRequest, "query parameter "+k+" is given more than once")
		}
	}
	return nil
}

func parseLimit(s string) (int, error) {
	if s == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, badRequest(CodeBadRequest, "limit must be a number from 1 to "+strconv.Itoa(maxLimit))
	}
	return n, nil
}

// listConnections is GET /connections?status=&pls=&limit=&continuation=.
func (a *API) listConnections(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := queryParams(q, "status", "pls", "limit", "continuation"); err != nil {
		a.writeError(w, r, err)
		return
	}
	var sq store.ConnectionQuery
	if s := strings.TrimSpace(q.Get("status")); s != "" {
		st, ok := statuses[strings.ToLower(s)]
		if !ok {
			a.writeError(w, r, badRequest(CodeBadRequest, "status must be one of Pending, Approved, Rejected, Disconnected, Removed"))
			return
		}
		sq.Status = st
	}
	if p := strings.TrimSpace(q.Get("pls")); p != "" {
		if err := checkPLSID("pls", p); err != nil {
			a.writeError(w, r, err)
			return
		}
		sq.PLSID = p
	}
	limit, err := parseLimit(q.Get("limit"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	sq.Limit = limit
	sq.Continuation = q.Get("continuation")
	items, next, err := a.o.Store.ListConnections(r.Context(), sq)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	resp := connectionsResponse{Items: make([]connectionJSON, 0, len(items)), Continuation: next}
	for _, c := range items {
		resp.Items = append(resp.Items, toConnectionJSON(c))
	}
	writeJSON(w, a.logger(r), http.StatusOK, resp)
}

// TransitionJSON is one history row on the wire (also `plsgate history --output json`).
type TransitionJSON struct {
	ID                   string    `json:"id"`
	At                   time.Time `json:"at"`
	PrivateLinkServiceID string    `json:"privateLinkServiceId"`
	Connection           string    `json:"connection"`
	Subject              string    `json:"subject"`
	From                 string    `json:"from"`
	To                   string    `json:"to"`
	Action               string    `json:"action,omitempty"`
	Phase                string    `json:"phase,omitempty"`
	Actor                string    `json:"actor,omitempty"`
	Rule                 string    `json:"rule,omitempty"`
	Reason               string    `json:"reason,omitempty"`
	Trigger              string    `json:"trigger,omitempty"`
	EventID              string    `json:"eventId,omitempty"`
	InvocationID         string    `json:"invocationId,omitempty"`
}

// NewTransitionJSON maps a stored transition to its wire form.
func NewTransitionJSON(t store.Transition) TransitionJSON {
	return TransitionJSON{
		ID: t.ID, At: t.At.UTC(), PrivateLinkServiceID: t.PLSID, Connection: t.Connection, Subject: t.Subject,
		From: t.From, To: t.To, Action: t.Action, Phase: t.Phase, Actor: t.Actor, Rule: t.Rule, Reason: t.Reason,
		Trigger: t.Trigger, EventID: t.EventID, InvocationID: t.InvocationID,
	}
}

type historyResponse struct {
	ConnectionID string           `json:"connectionId"`
	Items        []TransitionJSON `json:"items"`
}

// history is GET /connections/history?connectionId=&limit=: the connection's transitions,
// newest first, including the Web PubSub shared private link resource rows and drift findings
// recorded under the connection.
func (a *API) history(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := queryParams(q, "connectionId", "limit"); err != nil {
		a.writeError(w, r, err)
		return
	}
	id := strings.TrimSpace(q.Get("connectionId"))
	if id == "" {
		a.writeError(w, r, badRequest(CodeBadRequest, "connectionId is required"))
		return
	}
	if err := checkConnectionID(id); err != nil {
		a.writeError(w, r, err)
		return
	}
	limit, err := parseLimit(q.Get("limit"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	plsID, name, _ := resource.SplitConnectionID(id)
	ctx := r.Context()
	items, err := a.o.Store.ListTransitions(ctx, plsID, name, limit)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if len(items) == 0 {
		// Names are stored as ARM spells them; the ID may differ in case. One partition read
		// finds the stored spelling.
		stored, found, err := a.storedName(r, plsID, name)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if !found {
			a.writeError(w, r, newError(http.StatusNotFound, CodeNotFound, "plsgate has no record of this connection"))
			return
		}
		if stored != name {
			if items, err = a.o.Store.ListTransitions(ctx, plsID, stored, limit); err != nil {
				a.writeError(w, r, err)
				return
			}
		}
	}
	resp := historyResponse{ConnectionID: id, Items: make([]TransitionJSON, 0, len(items))}
	for _, t := range items {
		resp.Items = append(resp.Items, NewTransitionJSON(t))
	}
	writeJSON(w, a.logger(r), http.StatusOK, resp)
}

// storedName finds a connection of plsID by name, case-insensitively.
func (a *API) storedName(r *http.Request, plsID, name string) (string, bool, error) {
	q := store.ConnectionQuery{PLSID: plsID, Limit: maxLimit}
	for page := 0; page < 20; page++ {
		items, next, err := a.o.Store.ListConnections(r.Context(), q)
		if err != nil {
			return "", false, err
		}
		for _, c := range items {
			if strings.EqualFold(c.Name, name) {
				return c.Name, true, nil
			}
		}
		if next == "" {
			break
		}
		q.Continuation = next
	}
	return "", false, nil
}
