package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/policy"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

// Web PubSub verification (verifiedBy: webPubSub) and its binding.
//
// No API names the private endpoint or the connection a shared private link
// resource made on the PLS (azure-facts §9), and the PLS is usually visible to
// anyone, so anybody can send a Pending request with the same message. A
// resource therefore vouches for a connection only when nobody else could be
// the one it made:
//   - the resource is provisioned (Succeeded: its private endpoint, hence its
//     connection, exists), still Pending, targets this PLS and carries exactly
//     the connection's request message;
//   - no other connection on the PLS carries that message. Candidates are
//     counted over every connection present, whatever its status: the
//     resource's status lags its connection's by minutes, so while it still
//     says Pending an already approved or rejected same-message connection may
//     be its own. Two or more candidates → Ambiguous for each Pending one;
//   - its instance (ID + systemData.createdAt, or plsgate's first sighting when
//     Azure sends no systemData) is not bound to another connection. The
//     binding is written before the approval's intent and never freed.
//
// Ordering: a resource listed Succeeded had its connection on the PLS by the
// time of the list, so candidates are counted on a PLS read after the list.
// Reconcile reads the PLS first (and a scan's page may be minutes old), so a
// connection that can be vouched for is counted on a fresh PLS read: one more
// GET per verified approval, never a squatter that looked alone because its
// rival appeared between the two reads.

// Ambiguous: a shared private link resource could vouch for more than one
// connection, so none is approved; each stays Pending for a person.
const Ambiguous Result = "ambiguous"

// PhaseAmbiguous marks the history row of an ambiguous decision.
const PhaseAmbiguous = "ambiguous"

const provisioningSucceeded = "Succeeded"

// wpsState is one call's Web PubSub state: the resource list (read at most
// once), the PLS's stored rows, and the bindings and sightings read.
type wpsState struct {
	once      sync.Once
	spls      []arm.SharedPrivateLinkResource
	err       error
	listedAt  time.Time                    // when the list above was complete (r.now)
	conns     []resource.Connection        // the resource's connections read after listedAt; nil: not read
	rows      map[string]*store.Connection // lower connection name → row; nil: not loaded
	bindings  map[string]*store.Binding    // instance key → binding; nil value: unbound
	sightings map[string]time.Time         // lower resource ID → first sighting; zero: none
}

// verdict is what the configured Web PubSub resources say about one connection.
type verdict struct {
	spl        *arm.SharedPrivateLinkResource // vouches for the connection
	ambiguous  []ambiguity                    // resources that could vouch for it and others
	candidates []string                       // every candidate of the ambiguous resources
}

type ambiguity struct {
	spl      *arm.SharedPrivateLinkResource
	instance string
	others   []string // the other candidate connections
}

// chosen is the resource a person's approval of this connection binds: the
// one that vouches for it, or the one resource it was ambiguous for — the
// person decided which connection that resource made, so it vouches for no
// other one, and the approval is not reported as drift later.
func (v verdict) chosen() *arm.SharedPrivateLinkResource {
	if v.spl == nil && len(v.ambiguous) == 1 {
		return v.ambiguous[0].spl
	}
	return v.spl
}

// instanceOf identifies one instance of a resource. record=false only reads a
// first sighting (known=false when there is none: then nothing can be bound
// to it); record=true records one when Azure sent no systemData.createdAt.
func (s *resourceRun) instanceOf(ctx context.Context, spl *arm.SharedPrivateLinkResource, record bool) (at time.Time, firstSighting, known bool, err error) {
	if !spl.CreatedAt.IsZero() {
		return spl.CreatedAt, false, true, nil
	}
	k := resource.Normalize(spl.ID)
	if at, ok := s.wps.sightings[k]; ok && (!at.IsZero() || !record) {
		return at, true, !at.IsZero(), nil
	}
	if record {
		at, err = s.r.Store.SightSharedLink(ctx, spl.ID, s.r.now())
	} else {
		at, err = s.r.Store.SharedLinkSighting(ctx, spl.ID)
		if errors.Is(err, store.ErrNotFound) {
			at, err = time.Time{}, nil
		}
	}
	if err != nil {
		return time.Time{}, true, false, storeErr("first sighting of shared private link resource "+spl.ID, err)
	}
	if s.wps.sightings == nil {
		s.wps.sightings = map[string]time.Time{}
	}
	s.wps.sightings[k] = at
	return at, true, !at.IsZero(), nil
}

func instanceKey(splID, instance string) string { return resource.Normalize(splID) + "|" + instance }

// binding reads the binding of one instance (nil when unbound), once per call.
func (s *resourceRun) binding(ctx context.Context, spl *arm.SharedPrivateLinkResource, instance string) (*store.Binding, error) {
	k := instanceKey(spl.ID, instance)
	if b, ok := s.wps.bindings[k]; ok {
		return b, nil
	}
	b, err := s.r.Store.GetBinding(ctx, spl.ID, instance)
	if errors.Is(err, store.ErrNotFound) {
		b, err = nil, nil
	}
	if err != nil {
		return nil, storeErr("read binding of shared private link resource "+spl.ID, err)
	}
	s.cacheBinding(k, b)
	return b, nil
}

func (s *resourceRun) cacheBinding(k string, b *store.Binding) {
	if s.wps.bindings == nil {
		s.wps.bindings = map[string]*store.Binding{}
	}
	s.wps.bindings[k] = b
}

func (s *resourceRun) boundTo(b *store.Binding, c resource.Connection) bool {
	return resource.Same(b.PLSID, s.res.ID) && strings.EqualFold(b.Connection, c.Name)
}

// sharedLinks lists the configured resources' shared private link resources
// (once per call).
func (s *resourceRun) sharedLinks(ctx context.Context) ([]arm.SharedPrivateLinkResource, error) {
	s.wps.once.Do(func() {
		for _, id := range s.r.WebPubSubIDs {
			items, err := s.r.SharedLinks.ListSharedPrivateLinkResources(ctx, id)
			if err != nil {
				s.wps.err = armErrWrap("list shared private link resources of "+id, err)
				return
			}
			s.wps.spls = append(s.wps.spls, items...)
		}
		s.wps.listedAt = s.r.now()
	})
	return s.wps.spls, s.wps.err
}

// candidates names every connection on the PLS (any status) whose request
// message — as stored before an approval overwrote it, or as ARM shows it — is msg.
func (s *resourceRun) candidates(ctx context.Context, msg string) ([]string, error) {
	if s.wps.rows == nil {
		rows, err := s.r.storedRows(ctx, s.res.ID)
		if err != nil {
			return nil, err
		}
		s.wps.rows = rows
	}
	conns := s.res.Connections
	if s.readAt.IsZero() || !s.readAt.After(s.wps.listedAt) {
		if s.wps.conns == nil {
			fresh, err := s.prov.Get(ctx, s.res.ID)
			if err != nil {
				return nil, armErrWrap("re-read "+noun(s.res.ID)+" "+s.res.ID+" to count the candidates", err)
			}
			s.wps.conns = append([]resource.Connection{}, fresh.Connections...)
		}
		conns = s.wps.conns
	}
	var out []string
	for _, x := range conns {
		row := s.wps.rows[strings.ToLower(x.Name)]
		if x.Description == msg || row != nil && row.RequestMessage == msg {
			out = append(out, x.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// verify asks the configured resources about connection c, whose request
// message is c.Description (the caller put the stored one there).
func (s *resourceRun) verify(ctx context.Context, c resource.Connection, row *store.Connection) (verdict, error) {
	var v verdict
	spls, err := s.sharedLinks(ctx)
	if err != nil {
		return v, err
	}
	pending := strings.EqualFold(c.Status, StatusPending)
	for i := range spls {
		spl := &spls[i]
		if !resource.Same(spl.PrivateLinkResourceID, s.res.ID) || spl.RequestMessage != c.Description {
			continue
		}
		if pending && (!strings.EqualFold(spl.ProvisioningState, provisioningSucceeded) || !strings.EqualFold(spl.Status, StatusPending)) {
			continue
		}
		if !pending && !strings.EqualFold(spl.Status, StatusPending) && !strings.EqualFold(spl.Status, StatusApproved) {
			continue
		}
		at, seen, known, err := s.instanceOf(ctx, spl, false)
		if err != nil {
			return v, err
		}
		instance := store.BindingInstance(at, seen)
		var b *store.Binding
		if known {
			if b, err = s.binding(ctx, spl, instance); err != nil {
				return v, err
			}
		}
		switch {
		case b != nil && s.boundTo(b, c):
			return verdict{spl: spl}, nil
		case b != nil:
			continue // it vouched for another connection
		case !pending:
			// An approval from before bindings were recorded keeps its link.
			if row != nil && resource.Same(row.SharedPrivateLinkID, spl.ID) {
				return verdict{spl: spl}, nil
			}
			continue
		}
		cands, err := s.candidates(ctx, spl.RequestMessage)
		if err != nil {
			return v, err
		}
		others := slices.DeleteFunc(slices.Clone(cands), func(n string) bool { return strings.EqualFold(n, c.Name) })
		if len(others) == 0 {
			return verdict{spl: spl}, nil
		}
		v.ambiguous = append(v.ambiguous, ambiguity{spl: spl, instance: instance, others: others})
		for _, n := range cands {
			if !slices.Contains(v.candidates, n) {
				v.candidates = append(v.candidates, n)
			}
		}
	}
	slices.Sort(v.candidates)
	return v, nil
}

// bind records that req.spl's instance vouches for c, before anything about
// the approval is recorded or written. It returns store.ErrConflict when the
// instance is bound to another connection meanwhile: the caller re-reads and
// decides again (and then finds c unverified).
func (s *resourceRun) bind(ctx context.Context, c resource.Connection, req actRequest) error {
	spl := req.spl
	at, seen, _, err := s.instanceOf(ctx, spl, true)
	if err != nil {
		return err
	}
	b := &store.Binding{
		SharedPrivateLinkID: spl.ID, CreatedAt: at, FirstSighting: seen,
		PLSID: s.res.ID, Connection: c.Name, ConnectionID: c.ID, RequestMessage: spl.RequestMessage,
		Actor: req.actor, BoundAt: s.r.now(),
	}
	k := instanceKey(spl.ID, b.Instance())
	if cur := s.wps.bindings[k]; cur != nil && s.boundTo(cur, c) {
		return nil
	}
	err = s.r.Store.AddBinding(ctx, b)
	if err == nil {
		s.cacheBinding(k, b)
		return nil
	}
	if !errors.Is(err, store.ErrConflict) {
		return storeErr("bind shared private link resource "+spl.ID+" to "+c.Name, err)
	}
	cur, err := s.r.Store.GetBinding(ctx, spl.ID, b.Instance())
	if err != nil {
		return storeErr("re-read binding of shared private link resource "+spl.ID, err)
	}
	s.cacheBinding(k, cur)
	if s.boundTo(cur, c) {
		return nil
	}
	s.r.log().Warn("shared private link resource already vouched for another connection", "pls", s.res.ID,
		"connection", c.Name, "sharedPrivateLinkResource", spl.ID, "boundTo", cur.Connection)
	return store.ErrConflict
}

// recordAmbiguous records once per candidate set that c waits for a person
// because a resource could vouch for it and others (dv: what the policy would
// decide were c verified).
func (s *resourceRun) recordAmbiguous(ctx context.Context, c *resource.Connection, row *store.Connection, dv policy.Decision, v verdict) (Outcome, error) {
	var parts []string
	h := sha256.New()
	for _, a := range v.ambiguous {
		parts = append(parts, fmt.Sprintf("Web PubSub shared private link resource %s carries this request message, and so do %s",
			a.spl.ID, strings.Join(a.others, ", ")))
		fmt.Fprintf(h, "%s|%s\n", resource.Normalize(a.spl.ID), a.instance)
	}
	for _, n := range v.candidates {
		fmt.Fprintf(h, "%s\n", strings.ToLower(n))
	}
	key := "ambiguous:" + hex.EncodeToString(h.Sum(nil)[:8])
	reason := truncate(fmt.Sprintf("ambiguous: %s; it cannot tell which one it made, so plsgate approves none of them: a person decides (rule %s would approve a verified one)",
		strings.Join(parts, "; "), dv.Rule), 1024)

	o := s.outcome(*c, Ambiguous, nil)
	o.Action, o.Rule, o.Reason = policy.Leave, dv.Rule, reason
	if row.LastDecision == key {
		o.Result = Unchanged // this candidate set was recorded and notified already
		return o, nil
	}
	tr := s.transition(*c, SubjectConnection, c.Status, c.Status, string(policy.Leave), PhaseAmbiguous)
	tr.Actor, tr.Rule, tr.Reason, tr.Cause = "rule:"+dv.Rule, dv.Rule, reason, key
	return o, recordErr("record ambiguous decision for "+c.Name, s.proto().Decide(ctx, row, key, dv.Rule, tr))
}

// Bindings in a what-if run (ReadOnly): reads go to the real store, writes
// stay in the run's memory.

func (s *readOnly) GetBinding(ctx context.Context, splID, instance string) (*store.Binding, error) {
	s.mu.Lock()
	b, ok := s.bindings[instanceKey(splID, instance)]
	s.mu.Unlock()
	if ok {
		return &b, nil
	}
	return s.base.GetBinding(ctx, splID, instance)
}

func (s *readOnly) AddBinding(ctx context.Context, b *store.Binding) error {
	if _, err := s.GetBinding(ctx, b.SharedPrivateLinkID, b.Instance()); err == nil {
		return store.ErrConflict
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bindings == nil {
		s.bindings = map[string]store.Binding{}
	}
	b.ETag = s.nextETag()
	s.bindings[instanceKey(b.SharedPrivateLinkID, b.Instance())] = *b
	return nil
}

func (s *readOnly) SharedLinkSighting(ctx context.Context, splID string) (time.Time, error) {
	s.mu.Lock()
	at, ok := s.sightings[resource.Normalize(splID)]
	s.mu.Unlock()
	if ok {
		return at, nil
	}
	return s.base.SharedLinkSighting(ctx, splID)
}

func (s *readOnly) SightSharedLink(ctx context.Context, splID string, at time.Time) (time.Time, error) {
	if cur, err := s.SharedLinkSighting(ctx, splID); err == nil {
		return cur, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return time.Time{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sightings == nil {
		s.sightings = map[string]time.Time{}
	}
	s.sightings[resource.Normalize(splID)] = at
	return at, nil
}
