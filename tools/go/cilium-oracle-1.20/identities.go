package main

import (
	"sort"

	"github.com/cilium/cilium/pkg/identity"
	"github.com/cilium/cilium/pkg/labels"
)

// allocator hands out numeric identities for label sets the way the agent's identity allocator
// decides them (pkg/identity/cache/allocator.go AllocateIdentity), without a kvstore or CRDs:
//   - identity.LookupReservedIdentityByLabels first: reserved:host (with any node labels) is 1,
//     reserved:world 2, reserved:remote-node 6, reserved:kube-apiserver (also with remote-node) 7, ...
//   - otherwise identity.ScopeForLabels picks the scope: CIDR/FQDN labels (with reserved:world) get a
//     node-local identity (1<<24 | n), everything else a cluster identity from 256 up.
//
// A reserved identity whose label set varies (the host with node labels, kube-apiserver with
// remote-node) ends up with the union of the label sets it was asked for, as the agent aggregates the
// host's labels into identity 1 (pkg/ipcache/metadata.go updateReservedHostLabels).
type allocator struct {
	byKey  map[string]identity.NumericIdentity
	labels map[identity.NumericIdentity]labels.Labels
	next   map[identity.NumericIdentity]identity.NumericIdentity // per scope
}

func newAllocator() *allocator {
	return &allocator{
		byKey:  map[string]identity.NumericIdentity{},
		labels: map[identity.NumericIdentity]labels.Labels{},
		next: map[identity.NumericIdentity]identity.NumericIdentity{
			identity.IdentityScopeGlobal:     identity.GetMinimalAllocationIdentity(0), // cluster-id 0
			identity.IdentityScopeLocal:      identity.IdentityScopeLocal + 1,
			identity.IdentityScopeRemoteNode: identity.IdentityScopeRemoteNode + 1,
		},
	}
}

func (a *allocator) allocate(lbls labels.Labels) identity.NumericIdentity {
	key := string(lbls.SortedList())
	if id, ok := a.byKey[key]; ok {
		return id
	}
	var id identity.NumericIdentity
	if reserved := identity.LookupReservedIdentityByLabels(lbls); reserved != nil {
		id = reserved.ID
		merged := labels.Labels{}
		if cached := identity.LookupReservedIdentity(id); cached != nil {
			merged.MergeLabels(cached.Labels)
		}
		merged.MergeLabels(a.labels[id])
		merged.MergeLabels(lbls)
		a.labels[id] = merged
	} else {
		scope := identity.ScopeForLabels(lbls)
		id = a.next[scope]
		a.next[scope]++
		a.labels[id] = lbls
	}
	a.byKey[key] = id
	return id
}

// identityMap is every identity with its labels, for the SelectorCache.
func (a *allocator) identityMap() identity.IdentityMap {
	m := identity.IdentityMap{}
	for id, lbls := range a.labels {
		m[id] = lbls.LabelArray()
	}
	return m
}

func (a *allocator) out(id identity.NumericIdentity) idOut {
	var ls []string
	for _, l := range a.labels[id].LabelArray() {
		ls = append(ls, l.String())
	}
	sort.Strings(ls)
	return idOut{Identity: uint32(id), Labels: ls}
}
