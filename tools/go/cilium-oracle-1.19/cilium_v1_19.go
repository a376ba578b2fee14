package main

// What differs at github.com/cilium/cilium v1.19.5 (cilium_v1_20.go in tools/go/cilium-oracle-1.20 is
// the v1.20.0 counterpart).

import (
	"context"
	"log/slog"

	cilium "github.com/cilium/proxy/go/cilium/api"

	"github.com/cilium/cilium/pkg/identity"
	"github.com/cilium/cilium/pkg/identity/identitymanager"
	ciliumv2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	"github.com/cilium/cilium/pkg/option"
	"github.com/cilium/cilium/pkg/policy"
	"github.com/cilium/cilium/pkg/policy/api"
	policytypes "github.com/cilium/cilium/pkg/policy/types"
	"github.com/cilium/cilium/pkg/spanstat"
	"github.com/cilium/cilium/pkg/u8proto"
)

const ciliumVersion = "v1.19.5"

// repo is Cilium's policy Repository. At v1.19.5 the Repository keeps a policy cache of the identities
// of local endpoints, filled by the identity manager it subscribes to (pkg/policy/distillery.go:
// policyCache.LocalEndpointIdentityAdded also puts the identity into the subject SelectorCache), and
// GetSelectorPolicy only resolves policy for an identity in that cache.
type repo struct {
	*policy.Repository
	idmgr identitymanager.IDManager
}

func newRepository(logger *slog.Logger, ids identity.IdentityMap) *repo {
	idmgr := identitymanager.NewIDManager(logger)
	return &repo{
		Repository: policy.NewPolicyRepository(logger, ids, certManager{}, l7Translator{}, idmgr, noopMetrics{}),
		idmgr:      idmgr,
	}
}

// selectorPolicy: pkg/endpoint/policy.go regeneratePolicy calls GetSelectorPolicy for the endpoint's
// identity, which the identity manager knows since the endpoint took it.
func (r *repo) selectorPolicy(id *identity.Identity, endpointID uint64) (policy.SelectorPolicy, error) {
	r.idmgr.Add(id)
	sp, _, err := r.GetSelectorPolicy(id, 0, &policyStats{}, endpointID)
	return sp, err
}

// distill: as pkg/policy/lookup.go LookupFlow at v1.19.5.
func (r *repo) distill(logger *slog.Logger, sp policy.SelectorPolicy, o *owner, redirects map[string]uint16) *policy.EndpointPolicy {
	epp := sp.DistillPolicy(logger, o, redirects)
	epp.Ready()
	epp.Detach(logger)
	return epp
}

// setAllowLocalhost: allow-localhost is option.Config.AllowLocalhost at v1.19.5.
func setAllowLocalhost(mode string) {
	option.Config.AllowLocalhost = mode
}

// requiresDerivative: v1.19.5 still has toGroups derivative policies (CiliumNetworkPolicy.RequiresDerivative).
func requiresDerivative(cnp *ciliumv2.CiliumNetworkPolicy) bool {
	return cnp.RequiresDerivative()
}

// GetNamedPort is v1.19.5's PolicyOwner method: ingress named ports are the endpoint's own; egress
// ones come from every pod in the cluster (the agent's NamedPortsGetter), which the oracle does not
// have, so they resolve to nothing.
func (o *owner) GetNamedPort(ingress bool, name string, proto u8proto.U8proto) uint16 {
	if !ingress {
		return 0
	}
	return o.ingressNamedPort(name, proto)
}

type policyStats struct {
	waiting, calculation spanstat.SpanStat
}

func (s *policyStats) WaitingForPolicyRepository() *spanstat.SpanStat { return &s.waiting }
func (s *policyStats) SelectorPolicyCalculation() *spanstat.SpanStat  { return &s.calculation }

// noopMetrics: the Repository counts rules for metrics (policytypes.PolicyMetrics).
type noopMetrics struct{}

func (noopMetrics) AddRule(policytypes.PolicyEntry) {}
func (noopMetrics) DelRule(policytypes.PolicyEntry) {}

// certManager answers TLS contexts of L7 rules (terminatingTLS/originatingTLS) without secrets; the
// certificates do not change a verdict.
type certManager struct{}

func (certManager) GetTLSContext(context.Context, *api.TLSContext, string) (ca, public, private string, inlineSecrets bool, err error) {
	return "", "", "", false, nil
}

// l7Translator: HTTP rules are translated for Envoy while policy resolves; the oracle does not evaluate
// L7 rules, so the translation is empty.
type l7Translator struct{}

func (l7Translator) GetEnvoyHTTPRules(*api.L7Rules, string) (*cilium.HttpNetworkPolicyRules, bool) {
	return nil, true
}
