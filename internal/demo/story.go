package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// opSharedLinkWrite is the operationName of a shared private link resource
// PUT's ResourceWriteSuccess.
const opSharedLinkWrite = "Microsoft.SignalRService/webPubSub/sharedPrivateLinkResources/write"

// approvedDesc is the description the policy's rule writes on approval.
const approvedDesc = "approved by plsgate rule " + ruleName

// story plays steps a–e against a started stack.
type story struct {
	s    *stack
	p    *printer
	wait time.Duration
	spl  *armwebpubsub.SharedPrivateLinkResourcesClient // contoso-webpubsub's subscription
	spl2 *armwebpubsub.SharedPrivateLinkResourcesClient // contoso-webpubsub-eu's
	pls  *armnetwork.PrivateLinkServicesClient
	// The story's connections, in order, and their labels (#1, #2, …).
	conns  []string
	labels map[string]string
	// evMark is how many events the emulator had raised when step a began.
	evMark int
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
	spl2, err := armwebpubsub.NewSharedPrivateLinkResourcesClient(AppsSubscription, cred, wps)
	if err != nil {
		return nil, fmt.Errorf("armwebpubsub client: %w", err)
	}
	pls, err := armnetwork.NewPrivateLinkServicesClient(Subscription, cred, opts())
	if err != nil {
		return nil, fmt.Errorf("armnetwork client: %w", err)
	}
	return &story{s: s, p: p, wait: wait, spl: spl, spl2: spl2, pls: pls, labels: map[string]string{}}, nil
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
	for _, step := range []func(context.Context) error{st.stepA, st.stepB, st.stepBLost, st.stepC, st.stepD, st.stepE} {
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
	st.evMark = len(st.s.arm.Events())
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

// b. The connection appears Pending; the shared private link resource's
// write event reaches plsgate; the policy approves; the resource shows Approved.
func (st *story) stepB(ctx context.Context) error {
	resp, err := st.pls.Get(ctx, ResourceGroup, PLSName, nil)
	if err != nil {
		return fmt.Errorf("b. read %s: %w", PLSName, err)
	}
	pending := pendingWith(resp.PrivateLinkService, RequestMessage)
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
	// What Azure raised so far: the Web PubSub owner's write, and nothing for
	// the connection Web PubSub's managed environment requested from its tenant.
	raised := st.s.arm.Events()[st.evMark:]
	if len(raised) != 1 || !isWrite(raised[0], SharedLinkID) || !strings.EqualFold(raised[0].Topic, "/subscriptions/"+Subscription) {
		return fmt.Errorf("b. want exactly one event so far, %s's ResourceWriteSuccess in subscription %s; the emulator raised %s", SharedLinkName, Subscription, eventList(raised))
	}
	st.p.step("b", "%s has a new connection %s (%s): Pending, message %q, from a private endpoint in subscription %s — Web PubSub's managed environment, not ours",
		PLSName, name, l, RequestMessage, peSub)
	st.p.detail("(the demo held Event Grid deliveries until now so that you could see it Pending: plsgate approves within milliseconds; the one event queued is %s's write — none for the connection itself)", SharedLinkName)
	lists, gets := st.s.arm.Counters()[armemu.OpSharedLinkList], st.s.arm.Counters()[armemu.OpSharedLinkGet]

	st.s.arm.ResumeDeliveries()
	if err := st.idle(ctx); err != nil {
		return fmt.Errorf("b. %w", err)
	}
	got, err := st.pls.GetPrivateEndpointConnection(ctx, ResourceGroup, PLSName, name, nil)
	if err != nil {
		return fmt.Errorf("b. read connection %s: %w", name, err)
	}
	if status, desc := connState(&got.PrivateEndpointConnection); status != reconcile.StatusApproved || desc != approvedDesc {
		return fmt.Errorf("b. connection %s is %s (%q), want Approved (%q)", name, status, desc, approvedDesc)
	}
	hist, err := st.history(ctx, name)
	if err != nil {
		return fmt.Errorf("b. %w", err)
	}
	approval, ok := find(hist, reconcile.SubjectConnection, reconcile.StatusPending, reconcile.StatusApproved, reconcile.PhaseDone)
	if !ok || approval.Actor != "rule:"+ruleName || approval.Trigger != "event" {
		return fmt.Errorf("b. no event-triggered approval by rule %s in the history of %s: %s", ruleName, name, summary(hist))
	}
	if st.s.arm.Counters()[armemu.OpSharedLinkGet] == gets {
		return fmt.Errorf("b. plsgate approved %s without reading shared private link resource %s", name, SharedLinkName)
	}
	if st.s.arm.Counters()[armemu.OpSharedLinkList] == lists {
		return fmt.Errorf("b. plsgate approved %s without listing the shared private link resources of WEBPUBSUB_IDS (verifiedBy: webPubSub)", name)
	}
	inv, ok := st.s.invocation(approval.InvocationID)
	if !ok || inv.Function != app.FunctionEvents || inv.Err != nil {
		return fmt.Errorf("b. the approval's invocation %q is not a successful %s invocation through the host emulator", approval.InvocationID, app.FunctionEvents)
	}
	ev := eventOf(inv)
	if ev.Type != armemu.EventResourceWriteSuccess || ev.Operation != opSharedLinkWrite || !strings.EqualFold(ev.Subject, SharedLinkID) {
		return fmt.Errorf("b. the approval's invocation %s carried %+v, want %s's ResourceWriteSuccess (%s)", short(inv.ID), ev, SharedLinkName, opSharedLinkWrite)
	}
	st.p.step("b", "Event Grid delivered %s (%s of %s, raised in subscription %s when the operation completed) to the host emulator's webhook → %s invocation %s → plsgate read %s (Succeeded, Pending, target %s), then %s, and approved %s by rule %s",
		shortType(ev.Type), ev.Operation, SharedLinkName, subscriptionOf(ev.Topic), app.FunctionEvents, short(inv.ID), SharedLinkName, PLSName, PLSName, l, ruleName)

	splResp, err := st.spl.Get(ctx, SharedLinkName, ResourceGroup, WebPubSubName, nil)
	if err != nil {
		return fmt.Errorf("b. read shared private link resource %s: %w", SharedLinkName, err)
	}
	if status, ps := splState(splResp.SharedPrivateLinkResource); status != armwebpubsub.SharedPrivateLinkResourceStatusApproved || ps != armwebpubsub.ProvisioningStateSucceeded {
		return fmt.Errorf("b. shared private link resource %s: status %q, provisioningState %q, want Approved/Succeeded", SharedLinkName, status, ps)
	}
	if _, ok := find(hist, reconcile.SubjectSharedPrivateLink, reconcile.StatusPending, reconcile.StatusApproved, ""); !ok {
		return fmt.Errorf("b. the history of %s lacks the shared private link resource's Pending → Approved: %s", name, summary(hist))
	}
	st.p.step("b", "Web PubSub sees it: %s status Approved, provisioningState Succeeded (armwebpubsub SDK); history: connection Pending → Approved (rule), shared private link resource Pending → Approved",
		SharedLinkName)
	return nil
}

// b (second line). The same kind of request with its event lost: the timer
// approves it. A second Web PubSub resource (another subscription, its own
// request message) so that the two requests are not ambiguous.
func (st *story) stepBLost(ctx context.Context) error {
	mark := len(st.s.arm.Events())
	// Lose the event: while Event Grid has no endpoint, the emulator raises it
	// (and logs it) but delivers it nowhere.
	if err := st.s.arm.SetEventSink("", ""); err != nil {
		return fmt.Errorf("b. %w", err)
	}
	res, err := st.createSharedLink(ctx)
	if serr := st.s.arm.SetEventSink(st.s.webhookURL(), ""); err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("b. %w", err)
	}
	if _, ps := splState(res.SharedPrivateLinkResource); ps != armwebpubsub.ProvisioningStateSucceeded {
		return fmt.Errorf("b. shared private link resource %s: provisioningState %q, want Succeeded", SharedLink2Name, ps)
	}
	raised := st.s.arm.Events()[mark:]
	if len(raised) != 1 || !isWrite(raised[0], SharedLink2ID) {
		return fmt.Errorf("b. want exactly one event, %s's ResourceWriteSuccess; the emulator raised %s", SharedLink2Name, eventList(raised))
	}
	if !slices.ContainsFunc(st.s.arm.EventOptions().Subscriptions, func(s string) bool { return strings.EqualFold("/subscriptions/"+s, raised[0].Topic) }) {
		return fmt.Errorf("b. %s's event was raised in %s, which plsgate's Event Grid subscription does not cover", SharedLink2Name, raised[0].Topic)
	}
	resp, err := st.pls.Get(ctx, ResourceGroup, PLSName, nil)
	if err != nil {
		return fmt.Errorf("b. read %s: %w", PLSName, err)
	}
	pending := pendingWith(resp.PrivateLinkService, RequestMessage2)
	if len(pending) != 1 {
		return fmt.Errorf("b. want one Pending connection with message %q on %s, found %d", RequestMessage2, PLSName, len(pending))
	}
	name := val(pending[0].Name)
	l := st.addConn(name)
	if row, err := st.connRow(ctx, name); !errors.Is(err, errNoRecord) {
		return fmt.Errorf("b. plsgate should not know %s, whose event was lost: %+v, %v", name, row, err)
	}

	// Hold Event Grid during the tick: the event of plsgate's own approval
	// would otherwise find the tick's claim still held and be redelivered.
	st.s.arm.PauseDeliveries()
	err = st.s.host.FireTimer(ctx, app.FunctionTimer, false)
	st.s.arm.ResumeDeliveries()
	if err != nil {
		return fmt.Errorf("b. Reconcile timer tick: %w", err)
	}
	got, err := st.pls.GetPrivateEndpointConnection(ctx, ResourceGroup, PLSName, name, nil)
	if err != nil {
		return fmt.Errorf("b. read connection %s: %w", name, err)
	}
	if status, desc := connState(&got.PrivateEndpointConnection); status != reconcile.StatusApproved || desc != approvedDesc {
		return fmt.Errorf("b. after the timer tick, connection %s is %s (%q), want Approved (%q)", name, status, desc, approvedDesc)
	}
	hist, err := st.history(ctx, name)
	if err != nil {
		return fmt.Errorf("b. %w", err)
	}
	approval, ok := find(hist, reconcile.SubjectConnection, reconcile.StatusPending, reconcile.StatusApproved, reconcile.PhaseDone)
	if !ok || approval.Actor != "rule:"+ruleName || approval.Trigger != "timer" {
		return fmt.Errorf("b. no timer-triggered approval by rule %s in the history of %s: %s", ruleName, name, summary(hist))
	}
	inv, ok := st.s.invocation(approval.InvocationID)
	if !ok || inv.Function != app.FunctionTimer || inv.Err != nil {
		return fmt.Errorf("b. the approval's invocation %q is not a successful %s invocation through the host emulator", approval.InvocationID, app.FunctionTimer)
	}
	if err := st.idle(ctx); err != nil { // the event of plsgate's own write
		return fmt.Errorf("b. %w", err)
	}
	splResp, err := st.spl2.Get(ctx, SharedLink2Name, ResourceGroup2, WebPubSub2Name, nil)
	if err != nil {
		return fmt.Errorf("b. read shared private link resource %s: %w", SharedLink2Name, err)
	}
	if status, _ := splState(splResp.SharedPrivateLinkResource); status != armwebpubsub.SharedPrivateLinkResourceStatusApproved {
		return fmt.Errorf("b. shared private link resource %s: status %q, want Approved", SharedLink2Name, status)
	}
	st.p.step("b", "the same with the event lost: Web PubSub %s (subscription %s) created %s → %s (requestMessage %q); its %s was raised but the demo dropped the delivery, so %s sat Pending unknown to plsgate until the Reconcile timer tick (host emulator, invocation %s) approved it by rule %s; %s status Approved",
		WebPubSub2Name, AppsSubscription, SharedLink2Name, PLSName, RequestMessage2, shortType(raised[0].EventType), l, short(inv.ID), ruleName, SharedLink2Name)
	st.p.detail("(in Azure that tick comes within RECONCILE_SCHEDULE, every 2 minutes by default; the demo held Event Grid during the tick, so the event of plsgate's own approval came after it)")
	return nil
}

// createSharedLink is contoso-webpubsub-eu's PUT of its shared private link
// resource, polled to completion (the write event is raised then).
func (st *story) createSharedLink(ctx context.Context) (armwebpubsub.SharedPrivateLinkResourcesClientCreateOrUpdateResponse, error) {
	var zero armwebpubsub.SharedPrivateLinkResourcesClientCreateOrUpdateResponse
	poller, err := st.spl2.BeginCreateOrUpdate(ctx, SharedLink2Name, ResourceGroup2, WebPubSub2Name, armwebpubsub.SharedPrivateLinkResource{
		Properties: &armwebpubsub.SharedPrivateLinkResourceProperties{
			PrivateLinkResourceID: to.Ptr(PLSID),
			RequestMessage:        to.Ptr(RequestMessage2),
		},
	}, nil)
	if err != nil {
		return zero, fmt.Errorf("create shared private link resource %s: %w", SharedLink2Name, err)
	}
	res, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Second})
	if err != nil {
		return zero, fmt.Errorf("poll the creation of %s: %w", SharedLink2Name, err)
	}
	return res, nil
}

// c. A request with an unexpected message stays Pending; an operator rejects
// it through the API.
func (st *story) stepC(ctx context.Context) error {
	name, err := st.consumerRequest(ctx, "c", fabrikamSub, "fabrikam", fabrikamMessage)
	if err != nil {
		return err
	}
	l := st.label(name)
	st.p.step("c", "fabrikam (subscription %s) asked for a connection with message %q: no event reaches our subscriptions for it (its privateEndpoints/write is raised in fabrikam's), so the next Reconcile timer tick (host emulator) recorded %s Pending; no rule matches, so it stays Pending (policy default: leave)",
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
	st.p.step("d", "northwind (subscription %s) asked for a connection with message %q: likewise no event; the next timer tick recorded %s Pending, and the policy leaves it",
		northwindSub, northwindMessage, l)

	// Hold Event Grid so that the timer, not the portal write's event, finds it.
	st.s.arm.PauseDeliveries()
	writes := st.s.arm.Counters()[armemu.OpPLSUpdateConnection]
	if err := st.s.arm.SetConnectionStatus(PLSID, name, reconcile.StatusApproved, portalMessage); err != nil {
		return fmt.Errorf("d. approve %s in the portal: %w", name, err)
	}
	if held := st.s.arm.DeliveryStats().Pending; held == 0 {
		return fmt.Errorf("d. the portal approval (a write in %s's own subscription) raised no event to hold", PLSName)
	}
	st.p.step("d", "%s approved %s in the portal (a direct ARM write in our subscription, not through plsgate; the demo holds its Event Grid event so the timer path shows)", PortalUser, l)

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
		{"Approved", st.conns[0]}, {"Approved", st.conns[1]},
		{"LeftPending", st.conns[2]}, {"Rejected", st.conns[2]},
		{"LeftPending", st.conns[3]}, {"Drift", st.conns[3]},
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
// manual connection request, as in the portal). Its write is raised in the
// consumer's subscription, which plsgate does not subscribe to, and nothing in
// ours (as in Azure): a Reconcile timer tick records the connection, and the
// policy leaves it Pending.
func (st *story) consumerRequest(ctx context.Context, step, sub, who, message string) (string, error) {
	// Let the events of earlier writes (e.g. the API's rejection) land first:
	// any event on the PLS makes plsgate read all its connections.
	if err := st.idle(ctx); err != nil {
		return "", fmt.Errorf("%s. %w", step, err)
	}
	mark := len(st.s.arm.Events())
	pe, err := st.s.arm.CreatePrivateEndpoint(armemu.PrivateEndpoint{
		SubscriptionID: sub, ResourceGroup: who, Name: who + "-pe", Location: "eastus",
		Links: []*armemu.PrivateEndpointLink{{Name: who + "-pe", Manual: true, PrivateLinkServiceID: PLSID, RequestMessage: message}},
	})
	if err != nil {
		return "", fmt.Errorf("%s. %s's private endpoint: %w", step, who, err)
	}
	name := pe.Links[0].ConnectionName
	st.addConn(name)
	for _, ev := range st.s.arm.Events()[mark:] {
		if slices.ContainsFunc(EventSubscriptions(), func(s string) bool { return strings.EqualFold("/subscriptions/"+s, ev.Topic) }) {
			return "", fmt.Errorf("%s. %s's request raised an event plsgate subscribes to: %s", step, who, eventList([]armemu.Event{ev}))
		}
	}
	if err := st.idle(ctx); err != nil {
		return "", fmt.Errorf("%s. %w", step, err)
	}
	if row, err := st.connRow(ctx, name); !errors.Is(err, errNoRecord) {
		return "", fmt.Errorf("%s. plsgate should not know %s's connection %s before the timer ran: %+v, %v", step, who, name, row, err)
	}
	if err := st.s.host.FireTimer(ctx, app.FunctionTimer, false); err != nil {
		return "", fmt.Errorf("%s. Reconcile timer tick: %w", step, err)
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
	if r, ok := find(hist, reconcile.SubjectConnection, "", reconcile.StatusPending, reconcile.PhaseObserved); !ok || r.Trigger != "timer" {
		return "", fmt.Errorf("%s. the timer tick did not record %s's request: %s", step, name, summary(hist))
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
	return connectionRow{}, fmt.Errorf("connection %s: %w", name, errNoRecord)
}

// errNoRecord: plsgate has not recorded the connection (yet).
var errNoRecord = errors.New("plsgate has no record of it")

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

type eventInfo struct{ Type, Topic, Subject, Operation string }

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
		Topic     string `json:"topic"`
		Source    string `json:"source"`
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
	if ev.Topic == "" {
		ev.Topic = ev.Source
	}
	return eventInfo{Type: ev.EventType, Topic: ev.Topic, Subject: ev.Subject, Operation: ev.Data.OperationName}
}

// isWrite tells an emulator event that is the ResourceWriteSuccess of a
// shared private link resource PUT of resource id.
func isWrite(ev armemu.Event, id string) bool {
	var d struct {
		OperationName string `json:"operationName"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	return ev.EventType == armemu.EventResourceWriteSuccess && d.OperationName == opSharedLinkWrite && strings.EqualFold(ev.Subject, id)
}

// eventList renders events compactly for error messages.
func eventList(evs []armemu.Event) string {
	if len(evs) == 0 {
		return "none"
	}
	parts := make([]string, len(evs))
	for i, ev := range evs {
		var d struct {
			OperationName string `json:"operationName"`
		}
		_ = json.Unmarshal(ev.Data, &d)
		parts[i] = fmt.Sprintf("%s %s in %s (%s)", shortType(ev.EventType), d.OperationName, ev.Topic, ev.Subject)
	}
	return strings.Join(parts, "; ")
}

// pendingWith lists the PLS's Pending connections whose message is msg.
func pendingWith(p armnetwork.PrivateLinkService, msg string) []*armnetwork.PrivateEndpointConnection {
	var out []*armnetwork.PrivateEndpointConnection
	if p.Properties == nil {
		return nil
	}
	for _, c := range p.Properties.PrivateEndpointConnections {
		if status, desc := connState(c); strings.EqualFold(status, reconcile.StatusPending) && desc == msg {
			out = append(out, c)
		}
	}
	return out
}

// splState is a shared private link resource's status and provisioningState.
func splState(r armwebpubsub.SharedPrivateLinkResource) (armwebpubsub.SharedPrivateLinkResourceStatus, armwebpubsub.ProvisioningState) {
	if r.Properties == nil {
		return "", ""
	}
	return val(r.Properties.Status), val(r.Properties.ProvisioningState)
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
