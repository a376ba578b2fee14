package main

import (
	"maps"
	"net/netip"

	k8sConst "github.com/cilium/cilium/pkg/k8s/apis/cilium.io"
	ciliumv2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	slim_metav1 "github.com/cilium/cilium/pkg/k8s/slim/k8s/apis/meta/v1"
	"github.com/cilium/cilium/pkg/labels"
	"github.com/cilium/cilium/pkg/policy/api"
	policytypes "github.com/cilium/cilium/pkg/policy/types"
)

// serviceIn is a Kubernetes Service as the agent's policy watcher sees it (pkg/loadbalancer.Service: name,
// namespace, labels, selector; its backends' addresses from the EndpointSlices).
type serviceIn struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels"`
	Selector  map[string]string `json:"selector"`
	Backends  []string          `json:"backends"`
}

// resolveToServices translates a policy's toServices the way the agent's policy watcher does before it
// parses the policy (pkg/policy/k8s/cilium_network_policy.go resolveCiliumNetworkPolicyRefs ->
// pkg/policy/k8s/service.go resolveToServices, processRule). The watcher's code is unexported and bound
// to statedb tables, so its translation is restated here, line for line, over the input's Services: a
// Service with a selector adds a generated toEndpoints selector (its selector plus its namespace), one
// without adds generated toCIDRSet entries for its backends. Only rule.Egress is walked.
func resolveToServices(cnp *ciliumv2.CiliumNetworkPolicy, services []serviceIn) error {
	for i := range services {
		svc := &services[i]
		backends := make([]api.CIDR, 0, len(svc.Backends))
		for _, b := range svc.Backends {
			addr, err := netip.ParseAddr(b)
			if err != nil {
				return err
			}
			backends = append(backends, api.CIDR(netip.PrefixFrom(addr, addr.BitLen()).String()))
		}
		processRule(svc, backends, cnp.Spec)
		for _, spec := range cnp.Specs {
			processRule(svc, backends, spec)
		}
	}
	return nil
}

// processRule is pkg/policy/k8s/service.go processRule for one Service.
func processRule(svc *serviceIn, backends []api.CIDR, rule *api.Rule) {
	if rule == nil {
		return
	}
	for i, egress := range rule.Egress {
		for _, toService := range egress.ToServices {
			matched := false
			if sel := toService.K8sServiceSelector; sel != nil {
				matched = serviceSelectorMatches(sel, svc)
			} else if ref := toService.K8sService; ref != nil {
				matched = (ref.Namespace == svc.Namespace || ref.Namespace == "") && ref.ServiceName == svc.Name
			}
			if !matched {
				continue
			}
			if len(svc.Selector) == 0 {
				for _, cidr := range backends {
					rule.Egress[i].ToCIDRSet = append(rule.Egress[i].ToCIDRSet, api.CIDRRule{Cidr: cidr, Generated: true})
				}
			} else {
				selector := maps.Clone(svc.Selector)
				selector[k8sConst.PodNamespaceLabel] = svc.Namespace
				es := api.NewESFromK8sLabelSelector(labels.LabelSourceK8sKeyPrefix, &slim_metav1.LabelSelector{MatchLabels: selector})
				es.Generated = true
				rule.Egress[i].ToEndpoints = append(rule.Egress[i].ToEndpoints, es)
			}
		}
	}
}

// serviceSelectorMatches is pkg/policy/k8s/service.go serviceSelectorMatches: the namespace (empty: any)
// and the selector over the Service's own labels, by key whatever their source (labelsMatcher).
func serviceSelectorMatches(sel *api.K8sServiceSelectorNamespace, svc *serviceIn) bool {
	if !(sel.Namespace == svc.Namespace || sel.Namespace == "") {
		return false
	}
	ls := policytypes.NewLabelSelector(api.EndpointSelector(sel.Selector))
	return policytypes.Matches(ls, labelsMatcher(labels.Map2Labels(svc.Labels, labels.LabelSourceK8s)))
}

// labelsMatcher is pkg/policy/k8s/service.go labelsMatcher.
type labelsMatcher labels.Labels

func (l labelsMatcher) GetLabel(label *labels.Label) string { return l[label.Key].Value }

func (l labelsMatcher) HasLabel(label *labels.Label) bool {
	_, ok := l[label.Key]
	return ok
}

func (l labelsMatcher) LookupLabel(label *labels.Label) (string, bool) {
	v, ok := l[label.Key]
	return v.Value, ok
}

var _ labels.LabelMatcher = labelsMatcher{}
