package main

// What differs at github.com/cilium/cilium v1.20.0 (cilium_v1_19.go in tools/go/cilium-oracle-1.19 is
// the v1.19.5 counterpart).

import (
	"context"
	"log/slog"

	cilium "github.com/cilium/proxy/go/cilium/api"

	"github.com/cilium/cilium/pkg/identity"
	ciliumv2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	"github.com/cilium/cilium/pkg/option"
	"github.com/cilium/cilium/pkg/policy"
	"github.com/cilium/cilium/pkg/policy/api"
	policytypes "github.com/cilium/cilium/pkg/policy/types"
	"github.com/cilium/cilium/pkg/u8proto"
)

const ciliumVersion = "v1.20.0"

// repo is Cilium's policy Repository. At v1.20.0 it has no policy cache and no identity manager
// subscription: the caller puts identities into the subject SelectorCache (UpdateIdentities) and
// ComputeSelectorPolicy resolves policy for any identity.
type repo struct {
	*policy.Repository
}

func newRepository(logger *slog.Logger, ids identity.IdentityMap) *repo {
	return &repo{policy.NewPolicyRepository(logger, ids, certManager{}, l7Translator{}, nil, noopMetrics{})}
}

// selectorPolicy: as pkg/policy/lookup.go LookupFlow at v1.20.0 (UpdateIdentities "must be called
// before" ComputeSelectorPolicy, pkg/policy/repository.go).
func (r *repo) selectorPolicy(id *identity.Identity, endpointID uint64) (policy.SelectorPolicy, error) {
	r.UpdateIdentities(identity.IdentityMap{id.ID: id.LabelArray}, nil)
	sp, _, err := r.ComputeSelectorPolicy(id)
	return sp, err
}

// distill: as pkg/policy/lookup.go LookupFlow at v1.20.0, which also supersedes the SelectorPolicy
// once distilled.
func (r *repo) distill(logger *slog.Logger, sp policy.SelectorPolicy, o *owner, redirects map[string]uint16) *policy.EndpointPolicy {
	epp := sp.DistillPolicy(logger, o, redirects)
	epp.Ready()
	epp.Detach(logger)
	sp.Supersede()
	return epp
}

// setAllowLocalhost: allow-localhost moved to option.Config.UnsafeDaemonConfigOption at v1.20.0.
func setAllowLocalhost(mode string) {
	option.Config.UnsafeDaemonConfigOption.AllowLocalhost = mode
}

// requiresDerivative: v1.20.0 has no derivative policies; toGroups became a selector of its own
// (pkg/policy/utils/parserules.go).
func requiresDerivative(*ciliumv2.CiliumNetworkPolicy) bool {
	return false
}

// GetIngressNamedPort is v1.20.0's PolicyOwner method (egress named ports come from the Repository's
// NamedPortsGetter, which the oracle does not set, so they resolve to nothing).
func (o *owner) GetIngressNamedPort(name string, proto u8proto.U8proto) uint16 {
	return o.ingressNamedPort(name, proto)
}

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
