package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/webpubsub/armwebpubsub"
	"github.com/plsgate/plsgate/internal/app"
	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/armemu"
	"github.com/plsgate/plsgate/internal/devenv/tokenissuer"
	"github.com/plsgate/plsgate/internal/hostemu"
	"github.com/plsgate/plsgate/internal/reconcile"
)

// webPubSubPreviewAPI is the api-version of the Azure docs' `az rest` call:
// the first with properties.fqdns for a private link service target.
const webPubSubPreviewAPI = "2024-08-01-preview"

// story plays steps a–e against a started stack.
type story struct {
	s    *stack
	p    *printer
	wait time.Duration
	spl  *armwebpubsub.SharedPrivateLinkResourcesClient
	pls  *armnetwork.PrivateLinkServicesClient
	// The three connections of the story, in order, and their labels.
	conns  []string
	labels map[string]string
}

func newStory(s *stack, p *printer, wait time.Duration) (*story, error) {
	cred := arm.StaticToken("demo-token") // the emulator accepts any bearer token on loopback
	opts := func(perCall ...policy.Policy) *azarm.ClientOptions {
		return &azarm.ClientOptions{
			ClientOptions: policy.ClientOptions{
				Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
					cloud.ResourceManager: {Endpoint: s.armURL, Audience: "https://management.core.windows.net/"},
				}},
				InsecureAllowCredentialWithHTTP: true, // loopback emulator only
				PerCallPolicies:                 perCall,
				Retry:                           policy.RetryOptions{MaxRetries: 2, RetryDelay: 50 * time.Millisecond},
			},
			DisableRPRegistration: true,
		}
	}
	wps := opts(fqdnsPolicy{fqdns: []string{FQDN}})
	wps.APIVersion = webPubSubPreviewAPI
	spl, err := armwebpubsub.NewSharedPrivateLinkResourcesClient(Subscription, cred, wps)
	if err != nil {
		return nil, fmt.Errorf("armwebpubsub client: %w", err)
	}
	pls, err := armnetwork.NewPrivateLinkServicesClient(Subscription, cred, opts())
	if err != nil {
		return nil, fmt.Errorf("armnetwork client: %w", err)
	}
	return &story{s: s, p: p, wait: wait, spl: spl, pls: pls, labels: map[string]string{}}, nil
}

// fqdnsPolicy adds properties.fqdns to the shared private link resource PUT.
// armwebpubsub v1.3.0's model predates the field, which api-version
// 2024-08-01-preview (the one the Azure docs use) accepts; a newer SDK would
// send exactly this body.
type fqdnsPolicy struct{ fqdns []string }

func (f fqdnsPolicy) Do(req *policy.Request) (*http.Response, error) {
	r := req.Raw()
	if r.Method != http.MethodPut || !strings.Contains(strings.ToLower(r.URL.Path), "/sharedprivatelinkresources/") || req.Body() == nil {
		return req.Next()
	}
	body, err := io.ReadAll(req.Body())
	if err != nil {
		return nil, fmt.Errorf("read shared private link resource body: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("decode shared private link resource body: %w", err)
	}
	props, _ := m["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		m["properties"] = props
	}
	props["fqdns"] = f.fqdns
	if body, err = json.Marshal(m); err != nil {
		return nil, err
	}
	if err := req.SetBody(streaming.NopCloser(bytes.NewReader(body)), "application/json"); err != nil {
		return nil, err
	}
	return req.Next()
}

func (st *story) play(ctx context.Context) error {
	for _, step := range []func(context.Context) error{st.stepA, st.stepB, st.stepC, st.stepD, st.stepE} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (st *story) label(name string) string {
	if l, ok := st.labels[strings.ToLower(name)]; ok {
		return l
	}
	return name
}

func (st *story) addConn(name string) string {
	st.conns = append(st.conns, name)
	l := fmt.Sprintf("#%d", len(st.conns))
	st.labels[strings.ToLower(name)] = l
	return l
}

func connID(name string) string { return PLSID + "/privateEndpointConnections/" + name }

// a. Web PubSub creates the shared private link resource (the docs' az rest PUT).
func (st *story) stepA(ctx context.Context) error {
	// Hold Event Grid until the Pending connection has been shown (step b);
	// plsgate would approve it within milliseconds.
	st.s.arm.PauseDeliveries()
	polls := st.s.arm.Counters()[armemu.OpSignalROperationStatus]
	poller, err := st.spl.BeginCreateOrUpdate(ctx, SharedLinkName, ResourceGroup, WebPubSubName, armwebpubsub.SharedPrivateLinkResource{
		Properties: &armwebpubsub.SharedPrivateLinkResourceProperties{
			PrivateLinkResourceID: to.Ptr(PLSID),
			RequestMessage:        to.Ptr(RequestMessage),
		},
	}, nil)
	if err != nil {
		return fmt.Errorf("a. create shared private link resource %s: %w", SharedLinkName, err)
	}
	res, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Second}) // azcore's minimum
	if err != nil {
		return fmt.Errorf("a. poll the creation of %s: %w", SharedLinkName, err)
	}
	polls = st.s.arm.Counters()[armemu.OpSignalROperationStatus] - polls
	pr := res.Properties
	if pr == nil {
		pr = &armwebpubsub.SharedPrivateLinkResourceProperties{}
	}
	if ps := val(pr.ProvisioningState); ps != armwebpubsub.ProvisioningStateSucceeded {
		return fmt.Errorf("a. shared private link resource %s: provisioningState %q, want Succeeded", SharedLinkName, ps)
	}
	if st := val(pr.Status); st != armwebpubsub.SharedPrivateLinkResourceStatusPending {
		return fmt.Errorf("a. shared private link resource %s: status %q, want Pending", SharedLinkName, st)
	}
	if polls < 1 {
		return fmt.Errorf("a. the long-running operation was never polled")
	}
	stored, ok := st.s.arm.SharedPrivateLinkResource(SharedLinkID)
	if !ok || !slices.Equal(stored.Fqdns, []string{FQDN}) || stored.RequestMessage != RequestMessage {
		return fmt.Errorf("a. Web PubSub holds %+v, want fqdns [%s] and requestMessage %q", stored, FQDN, RequestMessage)
	}
	st.p.step("a", "Web PubSub %s created shared private link resource %s → %s (fqdns [%s], requestMessage %q) with the armwebpubsub SDK: long-running operation polled %d× to Succeeded; status %s",
		WebPubSubName, SharedLinkName, PLSName, FQDN, RequestMessage, polls, val(pr.Status))
	return nil
}

// b. The connection appears Pending; the event reaches plsgate; the policy
// approves; the shared private link resource shows Approved.
func (st *story) stepB(ctx context.Context) error {
	resp, err := st.pls.Get(ctx, ResourceGroup, PLSName, nil)
	if err != nil {
		return fmt.Errorf("b. read %s: %w", PLSName, err)
	}
	var pending []*armnetwork.PrivateEndpointConnection
	if resp.Properties != nil {
		for _, c := range resp.Properties.PrivateEndpointConnections {
			if status, desc := connState(c); strings.EqualFold(status, reconcile.StatusPending) && desc == RequestMessage {
				pending = append(pending, c)
			}
		}
	}
	if len(pending) != 1 {
		return fmt.Errorf("b. want one Pending connection with message %q on %s, found %d", RequestMessage, PLSName, len(pending))
	}
	c := pending[0]
	name := val(c.Name)
	l := st.addConn(name)
	var peSub string
	if c.Properties != nil && c.Properties.PrivateEndpoint != nil {
		peSub = subscriptionOf(val(c.Properties.PrivateEndpoint.ID))
	}
	st.p.step("b", "%s has a new connection %s (%s): Pending, message %q, from a private endpoint in subscription %s — Web PubSub's managed environment, not ours",
		PLSName, name, l, RequestMessage, peSub)
	st.p.detail("(the demo held Event Grid deliveries until now so that you could see it Pending: plsgate approves within milliseconds)")
	lists := st.s.arm.Counters()[armemu.OpSharedLinkList]

	st.s.arm.ResumeDeliveries()
	if err := st.idle(ctx); err != nil {
		return fmt.Errorf("b. %w", err)
	}
	got, err := st.pls.GetPrivateEndpointConnection(ctx, ResourceGroup, PLSName, name, nil)
	if err != nil {
		return fmt.Errorf("b. read connection %s: %w", name, err)
	}
	wantDesc := "approved by plsgate rule " + ruleName
	if status, desc := connState(&got.PrivateEndpointConnection); status != reconcile.StatusApproved || desc != wantDesc {
		return fmt.Errorf("b. connection %s is %s (%q), want Approved (%q)", name, status, desc, wantDesc)
	}
	hist, err := st.history(ctx, name)
	if err != nil {
		return fmt.Errorf("b. %w", err)
	}
	approval, ok := find(hist, reconcile.SubjectConnection, reconcile.StatusPending, reconcile.StatusApproved, reconcile.PhaseDone)
	if !ok || approval.Actor != "rule:"+ruleName || approval.Trigger != "event" {
		return fmt.Errorf("b. no event-triggered approval by rule %s in the history of %s: %s", ruleName, name, summary(hist))
	}
	if st.s.arm.Counters()[armemu.OpSharedLinkList] == lists {
		return fmt.Errorf("b. plsgate approved %s without reading %s's shared private link resources (verifiedBy: webPubSub)", name, WebPubSubName)
	}
	inv, ok := st.s.invocation(approval.InvocationID)
	if !ok || inv.Function != app.FunctionEvents || inv.Err != nil {
		return fmt.Errorf("b. the approval's invocation %q is not a successful %s invocation through the host emulator", approval.InvocationID, app.FunctionEvents)
	}
	ev := eventOf(inv)
	st.p.step("b", "Event Grid delivered %s (%s) to the host emulator's webhook → %s invocation %s → plsgate read the PLS, checked %s's shared private link resource, and approved by rule %s",
		shortType(ev.Type), ev.Operation, app.FunctionEvents, short(inv.ID), WebPubSubName, ruleName)
	st.p.detail("note: Azure documents no event in the PLS owner's subscription when another subscription or tenant (here Web PubSub's managed one) requests a connection;")
	st.p.detail("the emulator is set to send one to show the fast path — in Azure the Reconcile timer (every few minutes) is the guaranteed path")

	splResp, err := st.spl.Get(ctx, SharedLinkName, ResourceGroup, WebPubSubName, nil)
	if err != nil {
		return fmt.Errorf("b. read shared private link resource %s: %w", SharedLinkName, err)
	}
	sp := splResp.Properties
	if sp == nil {
		sp = &armwebpubsub.SharedPrivateLinkResourceProperties{}
	}
	if val(sp.Status) != armwebpubsub.SharedPrivateLinkResourceStatusApproved || val(sp.ProvisioningState) != armwebpubsub.ProvisioningStateSucceeded {
		return fmt.Errorf("b. shared private link resource %s: status %q, provisioningState %q, want Approved/Succeeded", SharedLinkName, val(sp.Status), val(sp.ProvisioningState))
	}
	if _, ok := find(hist, reconcile.SubjectSharedPrivateLink, reconcile.StatusPending, reconcile.StatusApproved, ""); !ok {
		return fmt.Errorf("b. the history of %s lacks the shared private link resource's Pending → Approved: %s", name, summary(hist))
	}
	st.p.step("b", "Web PubSub sees it: %s status Approved, provisioningState Succeeded (armwebpubsub SDK); history: connection Pending → Approved (rule), shared private link resource Pending → Approved",
		SharedLinkName)
	return nil
}

// c. A request with an unexpected message stays Pending; an operator rejects
// it through the API.
func (st *story) stepC(ctx context.Context) error {
	name, err := st.consumerRequest(ctx, "c", fabrikamSub, "fabrikam", fabrikamMessage)
	if err != nil {
		return err
	}
	l := st.label(name)
	st.p.step("c", "fabrikam (subscription %s) asked for a connection with message %q: %s reached plsgate by event; no rule matches, so it stays Pending (policy default: leave)",
		fabrikamSub, fabrikamMessage, l)

	token, err := operatorToken(st.s.issuer)
	if err != nil {
		return fmt.Errorf("c. mint the operator's token: %w", err)
	}
	code, body, err := st.s.api(ctx, http.MethodPost, "/api/v1/connections/reject",
		map[string]any{"connectionId": connID(name), "reason": rejectReason, "force": true},
		map[string]string{"Authorization": "Bearer " + token})
	if err != nil {
		return fmt.Errorf("c. reject %s: %w", name, err)
	}
	var out struct {
		From, To, Result, Actor, Reason string
	}
	if code != http.StatusOK || json.Unmarshal(body, &out) != nil || out.To != reconcile.StatusRejected || out.Actor != "principal:"+Operator {
		return fmt.Errorf("c. POST /api/v1/connections/reject answered %d %s, want 200 with to=Rejected and actor principal:%s", code, clip(string(body), 300), Operator)
	}
	got, err := st.pls.GetPrivateEndpointConnection(ctx, ResourceGroup, PLSName, name, nil)
	if err != nil {
		return fmt.Errorf("c. read connection %s: %w", name, err)
	}
	if s, _ := connState(&got.PrivateEndpointConnection); s != reconcile.StatusRejected {
		return fmt.Errorf("c. connection %s is %s in ARM after the API rejected it", name, s)
	}
	hist, err := st.history(ctx, name)
	if err != nil {
		return fmt.Errorf("c. %w", err)
	}
	if r, ok := find(hist, reconcile.SubjectConnection, reconcile.StatusPending, reconcile.StatusRejected, reconcile.PhaseDone); !ok || r.Actor != "principal:"+Operator || !strings.HasPrefix(r.Reason, rejectReason) {
		return fmt.Errorf("c. the history of %s lacks the operator's rejection with its reason: %s", name, summary(hist))
	}
	st.p.step("c", "operator %s rejected %s: POST /api/v1/connections/reject via the host (function key + Entra ID access token, force: the policy says leave) → %d, %s → %s, reason %q",
		Operator, l, code, out.From, out.To, rejectReason)
	return nil
}

// d. A portal approval the policy does not back: the timer records it and
// reports drift.
func (st *story) stepD(ctx context.Context) error {
	name, err := st.consumerRequest(ctx, "d", northwindSub, "northwind", northwindMessage)
	if err != nil {
		return err
	}
	l := st.label(name)
	st.p.step("d", "northwind (subscription %s) asked for a connection with message %q: %s stays Pending as well",
		northwindSub, northwindMessage, l)

	// Hold Event Grid so that the timer, not the portal write's event, finds it.
	st.s.arm.PauseDeliveries()
	writes := st.s.arm.Counters()[armemu.OpPLSUpdateConnection]
	if err := st.s.arm.SetConnectionStatus(PLSID, name, reconcile.StatusApproved, portalMessage); err != nil {
		return fmt.Errorf("d. approve %s in the portal: %w", name, err)
	}
	st.p.step("d", "%s approved %s in the portal (a direct ARM write, not through plsgate; the demo holds its Event Grid event so the timer path shows)", PortalUser, l)

	if err := st.s.host.FireTimer(ctx, app.FunctionTimer, false); err != nil {
		return fmt.Errorf("d. Reconcile timer tick: %w", err)
	}
	hist, err := st.history(ctx, name)
	if err != nil {
		return fmt.Errorf("d. %w", err)
	}
	obs, ok := find(hist, reconcile.SubjectConnection, reconcile.StatusPending, reconcile.StatusApproved, reconcile.PhaseObserved)
	if !ok || obs.Trigger != "timer" {
		return fmt.Errorf("d. the timer did not record %s's portal approval as observed: %s", name, summary(hist))
	}
	drift, ok := find(hist, reconcile.SubjectDrift, reconcile.StatusApproved, reconcile.StatusApproved, reconcile.PhaseDrift)
	if !ok || drift.Trigger != "timer" {
		return fmt.Errorf("d. the timer did not report drift for %s: %s", name, summary(hist))
	}
	row, err := st.connRow(ctx, name)
	if err != nil {
		return fmt.Errorf("d. %w", err)
	}
	if row.Drift == "" || row.Status != reconcile.StatusApproved {
		return fmt.Errorf("d. stored state of %s: status %s, drift %q; want Approved with drift", name, row.Status, row.Drift)
	}
	if drift.Action != "leave" {
		return fmt.Errorf("d. drift of %s: the policy says %q, want leave (no rule approves it)", name, drift.Action)
	}
	st.p.step("d", "Reconcile timer tick (host emulator): recorded %s Pending → Approved as observed (actor: observed), and reported drift: no rule approves it, the policy would leave it Pending", l)

	st.s.arm.ResumeDeliveries()
	if err := st.idle(ctx); err != nil {
		return fmt.Errorf("d. %w", err)
	}
	after, err := st.history(ctx, name)
	if err != nil {
		return fmt.Errorf("d. %w", err)
	}
	if n := st.s.arm.Counters()[armemu.OpPLSUpdateConnection]; n != writes || len(after) != len(hist) {
		return fmt.Errorf("d. the late event changed something: %d ARM writes (want %d), %d history rows (want %d)", n, writes, len(after), len(hist))
	}
	st.p.step("d", "the held event arrived afterwards: plsgate re-read the PLS and found nothing to do (no ARM write, no new history row; DRIFT_MODE=report changes nothing)")
	return nil
}

// e. The timeline from Table storage, the notifications, the status page.
func (st *story) stepE(ctx context.Context) error {
	want := []expectedNote{
		{"Approved", st.conns[0]}, {"LeftPending", st.conns[1]}, {"Rejected", st.conns[1]},
		{"LeftPending", st.conns[2]}, {"Drift", st.conns[2]},
	}
	notes, missing := st.waitNotifications(ctx, want)
	if len(missing) > 0 {
		return fmt.Errorf("e. notifications missing after %v: %s (received: %s)", st.wait, strings.Join(missing, ", "), strings.Join(noteTypes(notes), ", "))
	}
	var rows []Transition
	for _, name := range st.conns {
		h, err := st.history(ctx, name)
		if err != nil {
			return fmt.Errorf("e. %w", err)
		}
		rows = append(rows, h...)
	}
	st.p.step("e", "timeline from Table storage (GET /api/v1/connections/history for %s, oldest first):", strings.Join(st.labelList(), ", "))
	renderTimeline(st.p.w, rows, st.labels)
	st.p.detail("connections: %s", st.legend())
	st.p.step("e", "notifications the Event Grid topic received (CloudEvents 1.0 from the azeventgrid publisher):")
	renderNotifications(st.p.w, notes, st.labels)
	code, _, err := st.s.api(ctx, http.MethodGet, "/api/v1/status", nil, nil)
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("e. status page answered %d (%v)", code, err)
	}
	if failed := st.s.failedInvocations(); len(failed) > 0 {
		// Not an expectation: Event Grid redelivers a failed invocation, and
		// the checks above are on the converged state. But say so.
		st.p.detail("note: %d invocation(s) failed and were retried: %s", len(failed), strings.Join(failed, "; "))
	}
	st.p.step("e", "status page: %s", st.s.statusURL())
	return nil
}

// consumerRequest creates a consumer's private endpoint to the PLS (with a
// manual connection request, as in the portal) and waits until plsgate left
// the connection Pending.
func (st *story) consumerRequest(ctx context.Context, step, sub, who, message string) (string, error) {
	pe, err := st.s.arm.CreatePrivateEndpoint(armemu.PrivateEndpoint{
		SubscriptionID: sub, ResourceGroup: who, Name: who + "-pe", Location: "eastus",
		Links: []*armemu.PrivateEndpointLink{{Name: who + "-pe", Manual: true, PrivateLinkServiceID: PLSID, RequestMessage: message}},
	})
	if err != nil {
		return "", fmt.Errorf("%s. %s's private endpoint: %w", step, who, err)
	}
	name := pe.Links[0].ConnectionName
	st.addConn(name)
	if err := st.idle(ctx); err != nil {
		return "", fmt.Errorf("%s. %w", step, err)
	}
	got, err := st.pls.GetPrivateEndpointConnection(ctx, ResourceGroup, PLSName, name, nil)
	if err != nil {
		return "", fmt.Errorf("%s. read connection %s: %w", step, name, err)
	}
	if s, _ := connState(&got.PrivateEndpointConnection); s != reconcile.StatusPending {
		return "", fmt.Errorf("%s. %s's connection %s is %s, want Pending", step, who, name, s)
	}
	row, err := st.connRow(ctx, name)
	if err != nil {
		return "", fmt.Errorf("%s. %w", step, err)
	}
	if row.Status != reconcile.StatusPending || !strings.HasPrefix(row.LastDecision, "leave") {
		return "", fmt.Errorf("%s. plsgate's record of %s: status %q, last decision %q; want Pending, leave", step, name, row.Status, row.LastDecision)
	}
	hist, err := st.history(ctx, name)
	if err != nil {
		return "", fmt.Errorf("%s. %w", step, err)
	}
	if r, ok := find(hist, reconcile.SubjectConnection, "", reconcile.StatusPending, reconcile.PhaseObserved); !ok || r.Trigger != "event" {
		return "", fmt.Errorf("%s. plsgate did not record %s's request from an event: %s", step, name, summary(hist))
	}
	return name, nil
}

// idle waits until the emulator has delivered every queued event.
func (st *story) idle(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, st.wait)
	defer cancel()
	if err := st.s.arm.WaitIdle(ctx); err != nil {
		return fmt.Errorf("Event Grid deliveries not finished: %w (failed invocations: %v)", err, st.s.failedInvocations())
	}
	return nil
}

// Transition is one history row as GET /api/v1/connections/history returns it.
type Transition struct {
	At           time.Time `json:"at"`
	Connection   string    `json:"connection"`
	Subject      string    `json:"subject"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	Action       string    `json:"action"`
	Phase        string    `json:"phase"`
	Actor        string    `json:"actor"`
	Rule         string    `json:"rule"`
	Reason       string    `json:"reason"`
	Trigger      string    `json:"trigger"`
	EventID      string    `json:"eventId"`
	InvocationID string    `json:"invocationId"`
}

// history reads a connection's transitions (newest first) through the API.
func (st *story) history(ctx context.Context, name string) ([]Transition, error) {
	code, body, err := st.s.api(ctx, http.MethodGet, "/api/v1/connections/history?limit=100&connectionId="+url.QueryEscape(connID(name)), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", name, err)
	}
	var out struct {
		Items []Transition `json:"items"`
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("history of %s: %d %s", name, code, clip(string(body), 300))
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("history of %s: %w", name, err)
	}
	return out.Items, nil
}

type connectionRow struct {
	Name, Status, LastDecision, LastActor, Drift string
}

// connRow reads plsgate's stored state of one connection through the API.
func (st *story) connRow(ctx context.Context, name string) (connectionRow, error) {
	code, body, err := st.s.api(ctx, http.MethodGet, "/api/v1/connections?limit=100&pls="+url.QueryEscape(PLSID), nil, nil)
	if err != nil {
		return connectionRow{}, fmt.Errorf("list connections: %w", err)
	}
	var out struct {
		Items []connectionRow `json:"items"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &out) != nil {
		return connectionRow{}, fmt.Errorf("list connections: %d %s", code, clip(string(body), 300))
	}
	for _, r := range out.Items {
		if strings.EqualFold(r.Name, name) {
			return r, nil
		}
	}
	return connectionRow{}, fmt.Errorf("plsgate has no record of connection %s", name)
}

// find returns the newest row with subject, from, to and (unless "") phase.
func find(h []Transition, subject, from, to, phase string) (Transition, bool) {
	for _, t := range h {
		if t.Subject == subject && strings.EqualFold(t.From, from) && strings.EqualFold(t.To, to) && (phase == "" || t.Phase == phase) {
			return t, true
		}
	}
	return Transition{}, false
}

// summary renders a history compactly for error messages (oldest first).
func summary(h []Transition) string {
	var parts []string
	for i := len(h) - 1; i >= 0; i-- {
		t := h[i]
		parts = append(parts, fmt.Sprintf("%s %s>%s %s %s/%s", t.Subject, t.From, t.To, t.Phase, t.Actor, t.Trigger))
	}
	if len(parts) == 0 {
		return "(empty)"
	}
	return strings.Join(parts, " | ")
}

type eventInfo struct{ Type, Subject, Operation string }

// eventOf reads the Event Grid event the host passed in an invocation.
func eventOf(inv hostemu.Invocation) eventInfo {
	var env struct {
		Data map[string]json.RawMessage `json:"Data"`
	}
	if json.Unmarshal(inv.Request, &env) != nil {
		return eventInfo{}
	}
	raw := env.Data[app.BindingEvent]
	if len(raw) > 0 && raw[0] == '"' { // dataType string: the event's JSON text
		var s string
		if json.Unmarshal(raw, &s) == nil {
			raw = json.RawMessage(s)
		}
	}
	var ev struct {
		EventType string `json:"eventType"`
		Type      string `json:"type"`
		Subject   string `json:"subject"`
		Data      struct {
			OperationName string `json:"operationName"`
		} `json:"data"`
	}
	if json.Unmarshal(raw, &ev) != nil {
		return eventInfo{}
	}
	if ev.EventType == "" {
		ev.EventType = ev.Type
	}
	return eventInfo{Type: ev.EventType, Subject: ev.Subject, Operation: ev.Data.OperationName}
}

// operatorToken is the operator's Entra ID access token (v1.0, for the API's
// App ID URI), which plsgate verifies against the issuer's published keys.
func operatorToken(iss *tokenissuer.Issuer) (string, error) {
	return iss.Mint(tokenissuer.Token{Version: 1, TenantID: Tenant, Audience: APIAudience,
		OID: OperatorOID, UPN: Operator, Name: "Alice (operator)"})
}

func (st *story) labelList() []string {
	out := make([]string, len(st.conns))
	for i, c := range st.conns {
		out[i] = st.label(c)
	}
	return out
}

func (st *story) legend() string {
	parts := make([]string, len(st.conns))
	for i, c := range st.conns {
		parts[i] = st.label(c) + " " + c
	}
	return strings.Join(parts, ", ")
}

func subscriptionOf(id string) string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions") {
		return parts[1]
	}
	return ""
}

// shortType drops the namespace of an event type.
func shortType(t string) string {
	if i := strings.LastIndex(t, "."); i >= 0 && strings.HasPrefix(t, "Microsoft.") {
		return t[i+1:]
	}
	return t
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// val is *p, or the zero value for nil (ARM bodies omit what is unset).
func val[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// connState is a connection's status and description as ARM reports them.
func connState(c *armnetwork.PrivateEndpointConnection) (status, description string) {
	if c == nil || c.Properties == nil || c.Properties.PrivateLinkServiceConnectionState == nil {
		return "", ""
	}
	cs := c.Properties.PrivateLinkServiceConnectionState
	return val(cs.Status), val(cs.Description)
}
