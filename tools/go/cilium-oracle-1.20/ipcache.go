package main

import (
	"net/netip"
	"strings"

	"github.com/cilium/cilium/pkg/identity"
	"github.com/cilium/cilium/pkg/labels"
)

// ipLabels gives the labels of the identity the agent's ipcache holds for an address outside the
// cluster. The ipcache has an entry for every prefix a policy references (pkg/policy/cell/
// policy_importer.go updatePrefixes, labels.GetCIDRLabels) and, for toFQDNs, one per address the DNS
// proxy saw for a name some selector matches (pkg/fqdn/namemanager/manager.go deriveLabelsForName).
// The datapath takes the longest matching prefix. An entry's labels are its own, plus those of its
// parent prefixes with at most one cidr: label, the longest (pkg/ipcache/metadata.go
// mergeParentLabels), plus reserved:world (resolveLabels). No entry at all means the world identity
// (identity.GetWorldIdentityFromIP).
//
// Pod and node addresses are not resolved here: give such peers by their labels.
func (o *oracle) ipLabels(addr netip.Addr, dnsName string) labels.Labels {
	host := netip.PrefixFrom(addr, addr.BitLen())
	var entry netip.Prefix
	lbls := labels.Labels{}

	if dnsName != "" {
		if fq := o.fqdnLabels(dnsName); len(fq) > 0 {
			lbls.MergeLabels(fq)
			entry = host
			if o.hasPrefix(host) {
				lbls.MergeLabels(labels.GetCIDRLabels(host))
			}
		}
	}
	if len(lbls) == 0 {
		p, ok := o.longestPrefix(addr)
		if !ok {
			return o.worldLabels(addr)
		}
		entry = p
		lbls.MergeLabels(labels.GetCIDRLabels(p))
	}

	hasCIDR := lbls.HasSource(labels.LabelSourceCIDR)
	for bits := entry.Bits() - 1; bits >= 0; bits-- {
		parent, _ := addr.Prefix(bits)
		if !o.hasPrefix(parent) {
			continue
		}
		for k, v := range labels.GetCIDRLabels(parent) {
			if v.Source == labels.LabelSourceCIDR && hasCIDR {
				continue
			}
			if _, ok := lbls[k]; !ok {
				lbls[k] = v
				if v.Source == labels.LabelSourceCIDR {
					hasCIDR = true
				}
			}
		}
	}
	lbls.AddWorldLabel(addr)
	return lbls
}

func (o *oracle) worldLabels(addr netip.Addr) labels.Labels {
	id := identity.LookupReservedIdentity(identity.GetWorldIdentityFromIP(addr))
	return labels.NewFrom(id.Labels)
}

func (o *oracle) hasPrefix(p netip.Prefix) bool {
	for _, q := range o.prefixes {
		if q.Masked() == p.Masked() {
			return true
		}
	}
	return false
}

func (o *oracle) longestPrefix(addr netip.Addr) (netip.Prefix, bool) {
	var best netip.Prefix
	found := false
	for _, p := range o.prefixes {
		if p.Addr().BitLen() != addr.BitLen() || !p.Contains(addr) {
			continue
		}
		if !found || p.Bits() > best.Bits() {
			best, found = p, true
		}
	}
	return best, found
}

// fqdnLabels are the fqdn: labels the name manager gives addresses of dnsName: one per toFQDNs
// selector of the accepted policies that matches the name, lower-cased and fully qualified as the DNS
// proxy stores it (pkg/fqdn/namemanager/manager.go deriveLabelsForName, FQDNSelector.ToRegex and
// IdentityLabel in pkg/policy/api/fqdn.go).
func (o *oracle) fqdnLabels(dnsName string) labels.Labels {
	name := strings.ToLower(dnsName)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	lbls := labels.Labels{}
	for i := range o.fqdnSels {
		sel := &o.fqdnSels[i]
		re, err := sel.ToRegex()
		if err != nil || !re.MatchString(name) {
			continue
		}
		l := sel.IdentityLabel()
		lbls[l.Key] = l
	}
	return lbls
}
