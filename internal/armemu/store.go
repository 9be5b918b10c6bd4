package armemu

import (
	"fmt"
	"slices"
	"strings"
)

// store holds the world with the indices the REST surface needs. Lists are
// kept sorted by lower-cased ID so paging is a binary search (keyset paging:
// a $skiptoken is the last key served, robust to inserts between pages).
type store struct {
	pls     map[string]*PrivateLinkService   // key(ID) →
	alias   map[string]*PrivateLinkService   // lower(alias) →
	bySub   map[string][]*PrivateLinkService // lower(sub) → sorted
	byRG    map[string][]*PrivateLinkService // lower(sub/rg) → sorted
	pe      map[string]*PrivateEndpoint
	wps     map[string]*WebPubSub
	tenants map[string]string // lower(sub) → tenant
}

func newStore() *store {
	return &store{
		pls:     map[string]*PrivateLinkService{},
		alias:   map[string]*PrivateLinkService{},
		bySub:   map[string][]*PrivateLinkService{},
		byRG:    map[string][]*PrivateLinkService{},
		pe:      map[string]*PrivateEndpoint{},
		wps:     map[string]*WebPubSub{},
		tenants: map[string]string{},
	}
}

func rgKey(sub, rg string) string { return strings.ToLower(sub + "/" + rg) }

func cmpPLS(a, b *PrivateLinkService) int { return strings.Compare(key(a.ID), key(b.ID)) }

// build indexes a normalized, cloned world.
func buildStore(w World) (*store, error) {
	s := newStore()
	for sub, t := range w.Tenants {
		s.tenants[strings.ToLower(sub)] = t
	}
	for _, p := range w.PrivateLinkServices {
		if err := p.normalize(); err != nil {
			return nil, err
		}
		k := key(p.ID)
		if _, dup := s.pls[k]; dup {
			return nil, fmt.Errorf("duplicate private link service %s", p.ID)
		}
		s.pls[k] = p
		if p.Alias != "" {
			s.alias[strings.ToLower(p.Alias)] = p
		}
		s.bySub[strings.ToLower(p.SubscriptionID)] = append(s.bySub[strings.ToLower(p.SubscriptionID)], p)
		s.byRG[rgKey(p.SubscriptionID, p.ResourceGroup)] = append(s.byRG[rgKey(p.SubscriptionID, p.ResourceGroup)], p)
	}
	for _, l := range s.bySub {
		slices.SortFunc(l, cmpPLS)
	}
	for _, l := range s.byRG {
		slices.SortFunc(l, cmpPLS)
	}
	for _, pe := range w.PrivateEndpoints {
		if err := pe.normalize(); err != nil {
			return nil, err
		}
		if _, dup := s.pe[key(pe.ID)]; dup {
			return nil, fmt.Errorf("duplicate private endpoint %s", pe.ID)
		}
		s.pe[key(pe.ID)] = pe
	}
	for _, ws := range w.WebPubSubs {
		if err := ws.normalize(); err != nil {
			return nil, err
		}
		if _, dup := s.wps[key(ws.ID)]; dup {
			return nil, fmt.Errorf("duplicate web pubsub %s", ws.ID)
		}
		s.wps[key(ws.ID)] = ws
	}
	return s, nil
}

func (s *store) addPLS(p *PrivateLinkService) error {
	k := key(p.ID)
	if _, dup := s.pls[k]; dup {
		return fmt.Errorf("private link service %s already exists", p.ID)
	}
	s.pls[k] = p
	if p.Alias != "" {
		s.alias[strings.ToLower(p.Alias)] = p
	}
	insertSorted := func(l []*PrivateLinkService) []*PrivateLinkService {
		i, _ := slices.BinarySearchFunc(l, p, cmpPLS)
		return slices.Insert(l, i, p)
	}
	sk := strings.ToLower(p.SubscriptionID)
	s.bySub[sk] = insertSorted(s.bySub[sk])
	rk := rgKey(p.SubscriptionID, p.ResourceGroup)
	s.byRG[rk] = insertSorted(s.byRG[rk])
	return nil
}

// lookupPLS resolves a PLS by resource ID or alias (a private endpoint may
// name its target by alias).
func (s *store) lookupPLS(idOrAlias string) *PrivateLinkService {
	if strings.HasPrefix(idOrAlias, "/") {
		return s.pls[key(idOrAlias)]
	}
	return s.alias[strings.ToLower(idOrAlias)]
}

func (p *PrivateLinkService) conn(name string) (int, *Connection) {
	for i, c := range p.Connections {
		if strings.EqualFold(c.Name, name) {
			return i, c
		}
	}
	return -1, nil
}

func (ws *WebPubSub) link(name string) (int, *SharedPrivateLinkResource) {
	for i, s := range ws.SharedPrivateLinkResources {
		if strings.EqualFold(s.Name, name) {
			return i, s
		}
	}
	return -1, nil
}

// sortedPEs returns private endpoints matching sub (and rg when not ""), sorted.
func (s *store) sortedPEs(sub, rg string) []*PrivateEndpoint {
	var out []*PrivateEndpoint
	for _, pe := range s.pe {
		if strings.EqualFold(pe.SubscriptionID, sub) && (rg == "" || strings.EqualFold(pe.ResourceGroup, rg)) {
			out = append(out, pe)
		}
	}
	slices.SortFunc(out, func(a, b *PrivateEndpoint) int { return strings.Compare(key(a.ID), key(b.ID)) })
	return out
}

// world snapshots the store as a World (deep copy, sorted for stable output).
func (s *store) world() World {
	w := World{}
	if len(s.tenants) > 0 {
		w.Tenants = cloneMap(s.tenants)
	}
	subs := make([]string, 0, len(s.bySub))
	for k := range s.bySub {
		subs = append(subs, k)
	}
	slices.Sort(subs)
	w.PrivateLinkServices = make([]*PrivateLinkService, 0, len(s.pls))
	for _, sub := range subs {
		for _, p := range s.bySub[sub] {
			w.PrivateLinkServices = append(w.PrivateLinkServices, p.clone())
		}
	}
	keys := make([]string, 0, len(s.pe))
	for k := range s.pe {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w.PrivateEndpoints = append(w.PrivateEndpoints, s.pe[k].clone())
	}
	keys = keys[:0]
	for k := range s.wps {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w.WebPubSubs = append(w.WebPubSubs, s.wps[k].clone())
	}
	return w
}
