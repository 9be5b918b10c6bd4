package reconcile

import (
	"context"
	"github.com/plsgate/plsgate/internal/arm/armfake"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/store"
)

// The rules of verifiedBy: webPubSub (binding.go) over the fake ARM and the
// in-memory store. End-to-end versions: internal/app/binding_e2e_test.go.

const splID = wpsID + "/sharedPrivateLinkResources/pls-pe"

var splCreated = time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)

func sharedLink(mut ...func(*arm.SharedPrivateLinkResource)) arm.SharedPrivateLinkResource {
	s := arm.SharedPrivateLinkResource{
		ID: splID, Name: "pls-pe", WebPubSubID: wpsID, PrivateLinkResourceID: plsID,
		RequestMessage: "wps approve", Status: StatusPending, ProvisioningState: "Succeeded", CreatedAt: splCreated,
	}
	for _, m := range mut {
		m(&s)
	}
	return s
}

// recorder is a Notifier that keeps what it was given.
type recorder struct {
	mu   sync.Mutex
	outs []Outcome
}

func (r *recorder) Notify(_ context.Context, o Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outs = append(r.outs, o)
}

func (r *recorder) count(res Result) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, o := range r.outs {
		if o.Result == res {
			n++
		}
	}
	return n
}

func (e *env) reconcile(t *testing.T) map[string]Outcome {
	t.Helper()
	outs, err := e.r.Reconcile(context.Background(), plsID, ev)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]Outcome{}
	for _, o := range outs {
		m[o.Connection] = o
	}
	return m
}

// swapARM gives the env a fresh fake ARM (same store): the world changed.
func (e *env) swapARM() {
	e.arm = newFakeARM()
	e.r.Providers, e.r.SharedLinks = providers(e.arm), e.arm
}

// A squatter connects with the message before the shared private link
// resource exists; when it appears, neither is approved (today's main approved
// the squatter), each is recorded and notified once as ambiguous, naming the other.
func TestSquatterBeforeSharedLinkIsAmbiguous(t *testing.T) {
	e := newEnv(t, testPolicy)
	rec := &recorder{}
	e.r.Notifier = rec
	e.pls(conn("squatter", StatusPending, "wps approve", peCust))
	if o := e.reconcile(t)["squatter"]; o.Result != LeftPending {
		t.Fatalf("before the resource: %+v", o)
	}
	e.pls(conn("squatter", StatusPending, "wps approve", peCust), conn("wps", StatusPending, "wps approve", peSvc))
	e.arm.AddSharedPrivateLinks(sharedLink())
	for tick := 0; tick < 3; tick++ {
		outs := e.reconcile(t)
		for _, name := range []string{"squatter", "wps"} {
			o := outs[name]
			want := Ambiguous
			if tick > 0 {
				want = Unchanged
			}
			if o.Result != want || e.arm.Status(plsID, name) != StatusPending {
				t.Fatalf("tick %d: %s: %s (%s), want %s and Pending", tick, name, o.Result, e.arm.Status(plsID, name), want)
			}
		}
	}
	if w := e.arm.Writes.Load(); w != 0 {
		t.Fatalf("%d ARM writes", w)
	}
	if n := rec.count(Ambiguous); n != 2 {
		t.Fatalf("%d ambiguous notifications over 3 ticks, want 2 (one per connection)", n)
	}
	for name, other := range map[string]string{"squatter": "wps", "wps": "squatter"} {
		h := e.store.history(name)
		last := h[len(h)-1]
		if last.Phase != PhaseAmbiguous || !strings.Contains(last.Reason, "so do "+other) || last.From != StatusPending || last.To != StatusPending {
			t.Fatalf("%s: last history row %+v", name, last)
		}
		if n := len(h); n != 2 {
			t.Fatalf("%s: %d history rows, want 2 (requested, ambiguous)", name, n)
		}
		row, _ := e.store.GetConnection(context.Background(), plsID, name)
		if !strings.HasPrefix(row.LastDecision, "ambiguous:") || row.LastRule != "webpubsub" {
			t.Fatalf("%s: row %+v", name, row)
		}
	}
}

// A new candidate changes the candidate set: one more notification each.
func TestAmbiguityNotifiedOncePerCandidateSet(t *testing.T) {
	e := newEnv(t, testPolicy)
	rec := &recorder{}
	e.r.Notifier = rec
	e.arm.AddSharedPrivateLinks(sharedLink())
	e.pls(conn("wps", StatusPending, "wps approve", peSvc), conn("s1", StatusPending, "wps approve", peCust))
	e.reconcile(t)
	e.reconcile(t)
	e.pls(conn("wps", StatusPending, "wps approve", peSvc), conn("s1", StatusPending, "wps approve", peCust), conn("s2", StatusPending, "wps approve", peCust))
	e.reconcile(t)
	e.reconcile(t)
	if n := rec.count(Ambiguous); n != 2+3 {
		t.Fatalf("%d ambiguous notifications, want 5 (2 for the first set, 3 for the second)", n)
	}
	if e.arm.Writes.Load() != 0 {
		t.Fatal("an ambiguous candidate was written")
	}
}

// The resource vouches only while it is Succeeded and Pending, for this PLS and this exact message.
func TestSharedLinkVouchesOnlyWhenProvisionedPendingAndExact(t *testing.T) {
	for name, mut := range map[string]func(*arm.SharedPrivateLinkResource){
		"still provisioning": func(s *arm.SharedPrivateLinkResource) { s.ProvisioningState = "Updating" },
		"failed":             func(s *arm.SharedPrivateLinkResource) { s.ProvisioningState = "Failed" },
		"already approved":   func(s *arm.SharedPrivateLinkResource) { s.Status = StatusApproved },
		"rejected":           func(s *arm.SharedPrivateLinkResource) { s.Status = StatusRejected },
		"other PLS":          func(s *arm.SharedPrivateLinkResource) { s.PrivateLinkResourceID = plsID + "-other" },
		"other message case": func(s *arm.SharedPrivateLinkResource) { s.RequestMessage = "WPS approve" },
		"message with space": func(s *arm.SharedPrivateLinkResource) { s.RequestMessage = "wps approve " },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, `
version: 1
default: leave
rules:
  - name: webpubsub
    match:
      requestMessage: "^wps approve\\s*$"
      verifiedBy: webPubSub
    action: approve
`)
			e.pls(conn("wps", StatusPending, "wps approve", peSvc))
			e.arm.AddSharedPrivateLinks(sharedLink(mut))
			if o := e.reconcile(t)["wps"]; o.Result != LeftPending || e.arm.Writes.Load() != 0 {
				t.Fatalf("%+v, %d writes", o, e.arm.Writes.Load())
			}
		})
	}
}

// The honest case: one candidate, exactly one ARM write; the PLS is read once
// more after the resource list (candidates are counted on a read newer than
// the list: see TestRivalAppearingBetweenReadsIsCounted), and the binding is
// written before the intent.
func TestSingleCandidateApprovedAndBound(t *testing.T) {
	e := newEnv(t, testPolicy)
	order := &orderStore{fakeStore: e.store}
	e.r.Store = order
	e.pls(conn("wps", StatusPending, "wps approve", peSvc), conn("other", StatusPending, "hello", peCust))
	e.arm.AddSharedPrivateLinks(sharedLink())
	if o := e.reconcile(t)["wps"]; o.Result != Approved {
		t.Fatalf("%+v", o)
	}
	if e.arm.Gets.Load() != 2 || e.arm.Writes.Load() != 1 {
		t.Fatalf("ARM: %d reads, %d writes; want 2 and 1", e.arm.Gets.Load(), e.arm.Writes.Load())
	}
	bs, err := e.store.ListBindings(context.Background(), splID)
	if err != nil || len(bs) != 1 {
		t.Fatalf("bindings %+v %v", bs, err)
	}
	b := bs[0]
	if b.Connection != "wps" || !b.CreatedAt.Equal(splCreated) || b.FirstSighting || !arm.SameID(b.PLSID, plsID) || b.Actor != "rule:webpubsub" {
		t.Fatalf("binding %+v", b)
	}
	if got := strings.Join(order.ops, ", "); got != "bind, intent" {
		t.Fatalf("store writes %s, want the binding before the intent", got)
	}
	// The approved connection stays verified by its binding: no drift.
	if o := e.reconcile(t)["wps"]; o.Result != Unchanged {
		t.Fatalf("next tick: %+v", o)
	}
}

// A binding is never freed: after the bound connection is gone, a squatter
// with the same message is not vouched for by the same resource (still
// Pending: its status lags), while a re-created resource (new createdAt) binds anew.
func TestBindingOutlivesTheConnection(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("wps", StatusPending, "wps approve", peSvc))
	e.arm.AddSharedPrivateLinks(sharedLink())
	if o := e.reconcile(t)["wps"]; o.Result != Approved {
		t.Fatalf("%+v", o)
	}
	// wps is removed; the resource still says Pending; a squatter arrives.
	e.swapARM()
	e.pls(conn("squatter", StatusPending, "wps approve", peCust))
	e.arm.AddSharedPrivateLinks(sharedLink())
	outs := e.reconcile(t)
	if o := outs["squatter"]; o.Result != LeftPending || e.arm.Writes.Load() != 0 {
		t.Fatalf("squatter: %+v, %d writes", o, e.arm.Writes.Load())
	}
	if o := outs["wps"]; o.To != StatusRemoved {
		t.Fatalf("wps: %+v", o)
	}
	// The squatter leaves; the resource is deleted and created again: a new instance.
	e.swapARM()
	e.pls(conn("wps2", StatusPending, "wps approve", peSvc))
	e.arm.AddSharedPrivateLinks(sharedLink(func(s *arm.SharedPrivateLinkResource) { s.CreatedAt = splCreated.Add(time.Hour) }))
	if o := e.reconcile(t)["wps2"]; o.Result != Approved || e.arm.Writes.Load() != 1 {
		t.Fatalf("wps2: %+v, %d writes", o, e.arm.Writes.Load())
	}
	bs, _ := e.store.ListBindings(context.Background(), splID)
	if len(bs) != 2 || bs[0].Connection != "wps" || bs[1].Connection != "wps2" {
		t.Fatalf("bindings %+v", bs)
	}
}

// An instance bound to another connection (e.g. by an invocation that saw
// another snapshot) vouches for nobody else: no write, no ambiguity.
func TestInstanceBoundElsewhereVouchesForNobodyElse(t *testing.T) {
	e := newEnv(t, testPolicy)
	if err := e.store.AddBinding(context.Background(), &store.Binding{SharedPrivateLinkID: splID, CreatedAt: splCreated, PLSID: plsID, Connection: "earlier"}); err != nil {
		t.Fatal(err)
	}
	e.pls(conn("wps", StatusPending, "wps approve", peSvc))
	e.arm.AddSharedPrivateLinks(sharedLink())
	if o := e.reconcile(t)["wps"]; o.Result != LeftPending || e.arm.Writes.Load() != 0 {
		t.Fatalf("%+v, %d writes", o, e.arm.Writes.Load())
	}
}

// The binding is decided by the store, not by this call's snapshot: when the
// Add loses (another invocation bound the instance after this one read it),
// nothing is recorded or written for this connection.
func TestLostBindingRaceWritesNothing(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("wps", StatusPending, "wps approve", peSvc))
	e.arm.AddSharedPrivateLinks(sharedLink())
	e.r.Store = &bindFirst{fakeStore: e.store, other: store.Binding{SharedPrivateLinkID: splID, CreatedAt: splCreated, PLSID: plsID, Connection: "other"}}
	if o := e.reconcile(t)["wps"]; o.Result != LeftPending || e.arm.Writes.Load() != 0 {
		t.Fatalf("%+v, %d writes", o, e.arm.Writes.Load())
	}
	for _, tr := range e.store.history("wps") {
		if tr.Phase == PhaseIntent || tr.Phase == PhaseDone {
			t.Fatalf("recorded %+v", tr)
		}
	}
}

// bindFirst binds its instance to another connection just before the first AddBinding.
type bindFirst struct {
	*fakeStore
	other store.Binding
	once  sync.Once
}

func (s *bindFirst) AddBinding(ctx context.Context, b *store.Binding) error {
	s.once.Do(func() {
		o := s.other
		_ = s.fakeStore.AddBinding(ctx, &o)
	})
	return s.fakeStore.AddBinding(ctx, b)
}

// Without systemData the instance is plsgate's first sighting, recorded when it binds.
func TestFirstSightingWhenAzureOmitsSystemData(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("wps", StatusPending, "wps approve", peSvc))
	e.arm.AddSharedPrivateLinks(sharedLink(func(s *arm.SharedPrivateLinkResource) { s.CreatedAt = time.Time{} }))
	if o := e.reconcile(t)["wps"]; o.Result != Approved {
		t.Fatalf("%+v", o)
	}
	seen, err := e.store.SharedLinkSighting(context.Background(), splID)
	if err != nil {
		t.Fatal(err)
	}
	bs, _ := e.store.ListBindings(context.Background(), splID)
	if len(bs) != 1 || !bs[0].FirstSighting || !bs[0].CreatedAt.Equal(seen) {
		t.Fatalf("bindings %+v, sighting %v", bs, seen)
	}
	// The same (unstamped) resource cannot vouch for a squatter later.
	e.swapARM()
	e.pls(conn("squatter", StatusPending, "wps approve", peCust))
	e.arm.AddSharedPrivateLinks(sharedLink(func(s *arm.SharedPrivateLinkResource) { s.CreatedAt = time.Time{} }))
	if o := e.reconcile(t)["squatter"]; o.Result != LeftPending || e.arm.Writes.Load() != 0 {
		t.Fatalf("squatter: %+v", o)
	}
}

// A same-message connection that is already approved or rejected still counts:
// the resource's status lags its connection's, so it may be that one.
func TestDecidedSameMessageConnectionKeepsItAmbiguous(t *testing.T) {
	for _, status := range []string{StatusApproved, StatusRejected} {
		t.Run(status, func(t *testing.T) {
			e := newEnv(t, testPolicy)
			e.pls(conn("first", status, "wps approve", peSvc), conn("second", StatusPending, "wps approve", peCust))
			e.arm.AddSharedPrivateLinks(sharedLink())
			if o := e.reconcile(t)["second"]; o.Result != Ambiguous || e.arm.Writes.Load() != 0 {
				t.Fatalf("%+v", o)
			}
		})
	}
}

// An operator's approval (no force) of the vouched connection binds it too.
func TestManualApprovalOfVouchedConnectionBinds(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("wps", StatusPending, "wps approve", peSvc))
	e.arm.AddSharedPrivateLinks(sharedLink())
	o, err := e.r.Apply(context.Background(), ManualRequest{ConnectionID: plsID + "/privateEndpointConnections/wps", Action: policy.Approve, Actor: "principal:alice", Reason: "ok"}, Trigger{Kind: "http"})
	if err != nil || o.Result != Approved {
		t.Fatalf("%+v %v", o, err)
	}
	if bs, _ := e.store.ListBindings(context.Background(), splID); len(bs) != 1 || bs[0].Connection != "wps" || bs[0].Actor != "principal:alice" {
		t.Fatalf("bindings %+v", bs)
	}
}

// orderStore notes the order of binding and intent writes.
type orderStore struct {
	*fakeStore
	ops []string
}

func (s *orderStore) AddBinding(ctx context.Context, b *store.Binding) error {
	s.ops = append(s.ops, "bind")
	return s.fakeStore.AddBinding(ctx, b)
}

func (s *orderStore) AppendTransition(ctx context.Context, t *store.Transition) (bool, error) {
	if t.Phase == PhaseIntent {
		s.ops = append(s.ops, "intent")
	}
	return s.fakeStore.AppendTransition(ctx, t)
}

// A person resolves an ambiguity by approving one candidate (force: the policy
// alone leaves it): the resource is bound to it, so it is not drift later and
// the other candidate is no longer ambiguous, just unverified.
func TestPersonResolvesAmbiguity(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("wps", StatusPending, "wps approve", peSvc), conn("squatter", StatusPending, "wps approve", peCust))
	e.arm.AddSharedPrivateLinks(sharedLink())
	e.reconcile(t)
	req := ManualRequest{ConnectionID: plsID + "/privateEndpointConnections/wps", Action: policy.Approve, Actor: "principal:alice", Reason: "it is ours"}
	if _, err := e.r.Apply(context.Background(), req, Trigger{Kind: "http"}); err == nil {
		t.Fatal("approved an ambiguous candidate without force")
	}
	req.Force = true
	if o, err := e.r.Apply(context.Background(), req, Trigger{Kind: "http"}); err != nil || o.Result != Approved {
		t.Fatalf("%+v %v", o, err)
	}
	if bs, _ := e.store.ListBindings(context.Background(), splID); len(bs) != 1 || bs[0].Connection != "wps" || bs[0].Actor != "principal:alice" {
		t.Fatalf("bindings %+v", bs)
	}
	outs := e.reconcile(t)
	if o := outs["wps"]; o.Result != Unchanged {
		t.Fatalf("wps: %+v", o)
	}
	if o := outs["squatter"]; o.Result != LeftPending || e.arm.Status(plsID, "squatter") != StatusPending {
		t.Fatalf("squatter: %+v", o)
	}
	if w := e.arm.Writes.Load(); w != 1 {
		t.Fatalf("%d ARM writes, want 1", w)
	}
}

// rivalARM makes Web PubSub's own connection appear on the PLS between
// plsgate's PLS read and its resource list — the order a timer scan's old
// list page makes likely.
type rivalARM struct {
	*armfake.ARM
	e    *env
	once sync.Once
}

func (a *rivalARM) ListSharedPrivateLinkResources(ctx context.Context, id string) ([]arm.SharedPrivateLinkResource, error) {
	a.once.Do(func() {
		a.e.pls(conn("squatter", StatusPending, "wps approve", peCust), conn("wps", StatusPending, "wps approve", peSvc))
	})
	return a.ARM.ListSharedPrivateLinkResources(ctx, id)
}

// A squatter alone on the PLS when plsgate read it; Web PubSub's connection
// appeared before the resource list said Succeeded. Counting candidates on the
// first read made the squatter look alone (approved); counting them on a read
// after the list finds both: ambiguous, nothing written.
func TestRivalAppearingBetweenReadsIsCounted(t *testing.T) {
	e := newEnv(t, testPolicy)
	e.pls(conn("squatter", StatusPending, "wps approve", peCust))
	e.arm.AddSharedPrivateLinks(sharedLink())
	ra := &rivalARM{ARM: e.arm, e: e}
	e.r.Providers, e.r.SharedLinks = providers(ra), ra
	outs, err := e.r.Reconcile(context.Background(), plsID, ev)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.arm.Writes.Load(); n != 0 || e.arm.Status(plsID, "squatter") != StatusPending {
		t.Fatalf("the squatter was approved (%d writes): %+v", n, outs)
	}
	var squatter Outcome
	for _, o := range outs {
		if o.Connection == "squatter" {
			squatter = o
		}
	}
	if squatter.Result != Ambiguous {
		t.Fatalf("squatter: %+v", squatter)
	}
}
