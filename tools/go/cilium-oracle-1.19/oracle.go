package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/cilium/cilium/pkg/endpoint/regeneration"
	"github.com/cilium/cilium/pkg/identity"
	ipcachetypes "github.com/cilium/cilium/pkg/ipcache/types"
	k8sConst "github.com/cilium/cilium/pkg/k8s/apis/cilium.io"
	ciliumv2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	"github.com/cilium/cilium/pkg/labels"
	"github.com/cilium/cilium/pkg/labelsfilter"
	"github.com/cilium/cilium/pkg/option"
	"github.com/cilium/cilium/pkg/policy"
	"github.com/cilium/cilium/pkg/policy/api"
	policytypes "github.com/cilium/cilium/pkg/policy/types"
	policyutils "github.com/cilium/cilium/pkg/policy/utils"
	"github.com/cilium/cilium/pkg/u8proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sjson "sigs.k8s.io/json"
)

// ---- input ----

type input struct {
	ClusterName string            `json:"clusterName"`
	Options     options           `json:"options"`
	Policies    []json.RawMessage `json:"policies"`
	Endpoints   []endpointIn      `json:"endpoints"`
	Flows       []flowIn          `json:"flows"`
	// Services are the cluster's Services, for toServices (see services.go).
	Services []serviceIn `json:"services"`
}

// options mirror the agent flags that decide policy. Unset fields take the value a Helm-installed
// agent has (see README.md).
type options struct {
	EnableHostFirewall        bool   `json:"enableHostFirewall"`        // enable-host-firewall (default false)
	PolicyAuditMode           bool   `json:"policyAuditMode"`           // policy-audit-mode (default false)
	PolicyEnforcementMode     string `json:"policyEnforcementMode"`     // enable-policy: default|always|never
	AllowLocalhost            string `json:"allowLocalhost"`            // allow-localhost: always (k8s default)|policy
	EnableIPv4                *bool  `json:"enableIPv4"`                // enable-ipv4 (default true)
	EnableIPv6                bool   `json:"enableIPv6"`                // enable-ipv6 (Helm default false)
	PolicyDefaultLocalCluster *bool  `json:"policyDefaultLocalCluster"` // policy-default-local-cluster (default true)
}

type endpointIn struct {
	Name   string   `json:"name"`
	Host   bool     `json:"host"`
	Labels []string `json:"labels"`
	// NodeLabels are a node's Kubernetes labels as on the Node object; for a host endpoint they are
	// turned into identity labels the way the agent does (see hostLabels).
	NodeLabels map[string]string `json:"nodeLabels"`
	// NamedPorts are the subject's container ports by name, used for ingress rules with named ports.
	NamedPorts []namedPortIn `json:"namedPorts"`
}

type namedPortIn struct {
	Name     string `json:"name"`
	Port     uint16 `json:"port"`
	Protocol string `json:"protocol"`
}

type flowIn struct {
	Subject   string `json:"subject"`
	Direction string `json:"direction"`
	Peer      peerIn `json:"peer"`
	Port      uint16 `json:"port"`
	Protocol  string `json:"protocol"`
	ICMPType  *uint8 `json:"icmpType"`
}

type peerIn struct {
	Labels []string `json:"labels"`
	IP     string   `json:"ip"`
	// DNSName asserts that Cilium's DNS proxy has seen this name resolve to IP (toFQDNs).
	DNSName string `json:"dnsName"`
}

// ---- output ----

type output struct {
	Cilium   string    `json:"cilium"`
	Refused  []refusal `json:"refused"`
	Warnings []string  `json:"warnings,omitempty"`
	Results  []result  `json:"results"`
}

type refusal struct {
	Policy string `json:"policy"`
	Reason string `json:"reason"`
	// Stage is "decode" when the manifest does not decode into Cilium's CRD types (the agent's informer
	// would drop it) and "parse" when Cilium's Parse/Sanitize refuses it.
	Stage string `json:"stage"`
}

type result struct {
	Verdict string   `json:"verdict"`
	Reason  string   `json:"reason"`
	L7      string   `json:"l7,omitempty"`
	Auth    string   `json:"auth,omitempty"`
	Audited bool     `json:"audited,omitempty"`
	Rules   []string `json:"rules,omitempty"`
	Subject idOut    `json:"subject"`
	Peer    idOut    `json:"peer"`
}

type idOut struct {
	Identity uint32   `json:"identity"`
	Labels   []string `json:"labels"`
}

const (
	reasonNoPolicy        = "no policy selects the subject (default allow)"
	reasonNoDefaultDeny   = "only policies with enableDefaultDeny=false select the subject (default allow)"
	reasonHostFwDisabled  = "host firewall disabled (default allow)"
	reasonNeverEnforce    = "policy enforcement disabled (enable-policy=never)"
	reasonAllowed         = "allowed by a rule"
	reasonLocalhost       = "the local host may always reach local endpoints (allow-localhost=always)"
	reasonDenyRule        = "denied by a deny rule"
	reasonNoRuleAllows    = "no rule allows"
	reasonSynthesizedDeny = "no rule allows (default deny)"
)

// ---- the oracle ----

type parsedPolicy struct {
	name     string
	resource ipcachetypes.ResourceID
	rules    api.Rules
	entries  policytypes.PolicyEntries
}

type subject struct {
	ep    *endpointIn
	id    identity.NumericIdentity
	owner *owner
	// computed lazily
	done    bool
	err     error
	epp     *policy.EndpointPolicy
	parsers map[uint16]string // proxy port -> L7 parser
}

type oracle struct {
	logger   *slog.Logger
	policies []parsedPolicy
	prefixes []netip.Prefix // every CIDR referenced by accepted policies (the agent's ipcache prefixes)
	fqdnSels []api.FQDNSelector
	alloc    *allocator
	repo     *repo
	subjects map[string]*subject
	peers    []identity.NumericIdentity // per flow
	warnings []string
}

func newLogger() *slog.Logger {
	level := slog.LevelError
	if os.Getenv("ORACLE_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(quietHandler{slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})})
}

// quietHandler drops one message: EndpointPolicy.Lookup (pkg/policy/mapstate.go lookup) logs "invalid
// key for Lookup" for a destination port 0, which it takes for a wildcard, but port 0 is ICMP echo
// reply's type; the lookup itself handles the exact key correctly.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "invalid key for Lookup" {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(attrs)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}

// configure sets the agent's global configuration the policy code reads (option.Config, the policy
// enforcement mode and the label filter) to what a Helm-installed agent runs with.
func configure(logger *slog.Logger, o options) error {
	// pkg/defaults: EnableL7Proxy, EnableICMPRules and EnableNonDefaultDenyPolicies are true; they decide
	// whether Sanitize (pkg/policy/api/rule_validation.go) accepts L7 rules, ICMP rules and
	// enableDefaultDeny=false.
	option.Config.EnableL7Proxy = true
	option.Config.EnableICMPRules = true
	option.Config.EnableNonDefaultDenyPolicies = true
	option.Config.EnableNodeSelectorLabels = false
	option.Config.EnableHostFirewall = o.EnableHostFirewall
	option.Config.PolicyAuditMode = o.PolicyAuditMode
	option.Config.EnableIPv4 = o.EnableIPv4 == nil || *o.EnableIPv4
	option.Config.EnableIPv6 = o.EnableIPv6
	switch o.AllowLocalhost {
	case "", option.AllowLocalhostAlways:
		// daemon/cmd/daemon.go: in Kubernetes mode "auto" becomes "always".
		setAllowLocalhost(option.AllowLocalhostAlways)
	case option.AllowLocalhostPolicy:
		setAllowLocalhost(option.AllowLocalhostPolicy)
	default:
		return fmt.Errorf("options.allowLocalhost %q: want always or policy", o.AllowLocalhost)
	}
	switch o.PolicyEnforcementMode {
	case "":
		policy.SetPolicyEnabled(option.DefaultEnforcement)
	case option.DefaultEnforcement, option.AlwaysEnforce, option.NeverEnforce:
		policy.SetPolicyEnabled(o.PolicyEnforcementMode)
	default:
		return fmt.Errorf("options.policyEnforcementMode %q: want default, always or never", o.PolicyEnforcementMode)
	}
	// daemon/cmd/daemon_main.go calls this at start-up; without it labelsfilter.Filter has no prefixes.
	return labelsfilter.ParseLabelPrefixCfg(logger, nil, nil, "")
}

func run(in *input) (*output, error) {
	logger := newLogger()
	if err := configure(logger, in.Options); err != nil {
		return nil, err
	}
	o := &oracle{
		logger:   logger,
		alloc:    newAllocator(),
		subjects: map[string]*subject{},
	}
	out := &output{Cilium: ciliumVersion, Refused: []refusal{}, Results: []result{}}

	clusterName := in.ClusterName
	if clusterName == "" {
		clusterName = "default" // the agent's cluster-name default (pkg/defaults: ClusterName)
	}
	// The cluster entity's pod selector names the local cluster: the agent sets it at start-up
	// (pkg/policy/cell/cell.go: policyapi.InitEntities(ClusterInfo.Name)); without it `cluster` selects
	// only the reserved identities.
	api.InitEntities(clusterName)
	// pkg/clustermesh/types/option.go: LocalClusterNameForPolicies gives Parse the cluster name only
	// when policy-default-local-cluster is on (the default); otherwise peers match any cluster.
	if in.Options.PolicyDefaultLocalCluster != nil && !*in.Options.PolicyDefaultLocalCluster {
		clusterName = ""
	}
	for i, raw := range in.Policies {
		p, ref, err := parsePolicy(logger, raw, clusterName, in.Services)
		if err != nil {
			return nil, fmt.Errorf("policies[%d]: %w", i, err)
		}
		if ref != nil {
			out.Refused = append(out.Refused, *ref)
			continue
		}
		o.addPolicy(p)
	}

	// Subjects.
	for i := range in.Endpoints {
		ep := &in.Endpoints[i]
		if ep.Name == "" {
			return nil, fmt.Errorf("endpoints[%d]: no name", i)
		}
		if _, dup := o.subjects[ep.Name]; dup {
			return nil, fmt.Errorf("endpoints[%d]: duplicate name %q", i, ep.Name)
		}
		lbls, err := endpointLabels(ep)
		if err != nil {
			return nil, fmt.Errorf("endpoints[%d] (%s): %w", i, ep.Name, err)
		}
		id := o.alloc.allocate(lbls)
		if ep.Host && id != identity.ReservedIdentityHost {
			return nil, fmt.Errorf("endpoints[%d] (%s): host endpoint did not get the host identity", i, ep.Name)
		}
		if !ep.Host && id == identity.ReservedIdentityHost {
			return nil, fmt.Errorf("endpoints[%d] (%s): has reserved:host but host is not set", i, ep.Name)
		}
		o.subjects[ep.Name] = &subject{ep: ep, id: id, owner: newOwner(uint64(i+1), ep)}
	}

	// Peers.
	o.peers = make([]identity.NumericIdentity, len(in.Flows))
	for i, f := range in.Flows {
		id, err := o.peerIdentity(f.Peer)
		if err != nil {
			return nil, fmt.Errorf("flows[%d]: %w", i, err)
		}
		o.peers[i] = id
	}

	// Cilium's Repository with every identity in its SelectorCache, then the policies.
	o.repo = newRepository(logger, o.alloc.identityMap())
	o.repo.GetSelectorCache().SetLocalIdentityNotifier(fqdnNotifier{})
	for _, p := range o.policies {
		o.repo.ReplaceByResource(p.entries, p.resource)
	}

	for i, f := range in.Flows {
		r, err := o.evaluate(f, o.peers[i])
		if err != nil {
			return nil, fmt.Errorf("flows[%d]: %w", i, err)
		}
		out.Results = append(out.Results, r)
	}
	out.Warnings = o.warnings
	return out, nil
}

// typeMeta is just enough of a manifest to tell its kind.
type typeMeta struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// parsePolicy turns a CNP/CCNP manifest into Cilium's PolicyEntries the way the agent's policy watcher
// does (pkg/policy/k8s/watcher.go turns a CCNP into a SlimCNP; pkg/policy/k8s/cilium_network_policy.go:
// upsertCiliumNetworkPolicyV2 calls cnp.Parse and policyutils.RulesToPolicyEntries).
func parsePolicy(logger *slog.Logger, raw json.RawMessage, clusterName string, services []serviceIn) (*parsedPolicy, *refusal, error) {
	var tm typeMeta
	if err := json.Unmarshal(raw, &tm); err != nil {
		return nil, nil, fmt.Errorf("not a manifest: %w", err)
	}
	var cnp *ciliumv2.CiliumNetworkPolicy
	var kind ipcachetypes.ResourceKind
	var name string
	// client-go decodes watch events case-sensitively (sigs.k8s.io/json), so does the oracle.
	switch tm.Kind {
	case ciliumv2.CNPKindDefinition:
		if tm.Metadata.Namespace == "" {
			// kubectl applies a manifest without a namespace to the context's namespace.
			tm.Metadata.Namespace = "default"
		}
		name = tm.Kind + " " + tm.Metadata.Namespace + "/" + tm.Metadata.Name
		cnp = &ciliumv2.CiliumNetworkPolicy{}
		if err := k8sjson.UnmarshalCaseSensitivePreserveInts(raw, cnp); err != nil {
			return nil, &refusal{Policy: name, Reason: err.Error(), Stage: "decode"}, nil
		}
		cnp.Namespace = tm.Metadata.Namespace
		kind = ipcachetypes.ResourceKindCNP
	case ciliumv2.CCNPKindDefinition:
		name = tm.Kind + " " + tm.Metadata.Name
		ccnp := &ciliumv2.CiliumClusterwideNetworkPolicy{}
		if err := k8sjson.UnmarshalCaseSensitivePreserveInts(raw, ccnp); err != nil {
			return nil, &refusal{Policy: name, Reason: err.Error(), Stage: "decode"}, nil
		}
		// pkg/policy/k8s/watcher.go: a CCNP enters the policy path as a SlimCNP without a namespace;
		// CiliumNetworkPolicy.Parse turns it back into a CCNP (cnp_types.go, "Temporary fix for CCNPs").
		cnp = &ciliumv2.CiliumNetworkPolicy{
			TypeMeta:   ccnp.TypeMeta,
			ObjectMeta: ccnp.ObjectMeta,
			Spec:       ccnp.Spec,
			Specs:      ccnp.Specs,
		}
		cnp.Namespace = ""
		kind = ipcachetypes.ResourceKindCCNP
	default:
		return nil, nil, fmt.Errorf("kind %q (apiVersion %q): only %s and %s are supported", tm.Kind, tm.APIVersion,
			ciliumv2.CNPKindDefinition, ciliumv2.CCNPKindDefinition)
	}
	if requiresDerivative(cnp) {
		// pkg/policy/k8s/cilium_network_policy.go: onUpsert skips it; the operator derives a policy.
		return nil, &refusal{Policy: name, Stage: "parse",
			Reason: "the agent skips a policy that requires a derivative policy (toGroups); the operator's derivative is not modelled"}, nil
	}
	// pkg/policy/k8s/cilium_network_policy.go resolveCiliumNetworkPolicyRefs: toServices are translated on
	// a copy before Parse.
	if err := resolveToServices(cnp, services); err != nil {
		return nil, nil, fmt.Errorf("services: %w", err)
	}
	rules, err := cnp.Parse(logger, clusterName)
	if err != nil {
		return nil, &refusal{Policy: name, Reason: err.Error(), Stage: "parse"}, nil
	}
	return &parsedPolicy{
		name:     name,
		resource: ipcachetypes.NewResourceID(kind, cnp.Namespace, cnp.Name),
		rules:    rules,
		entries:  policyutils.RulesToPolicyEntries(rules),
	}, nil, nil
}

func (o *oracle) addPolicy(p *parsedPolicy) {
	// A later manifest with the same kind/namespace/name replaces an earlier one, as in the cluster.
	o.policies = slices.DeleteFunc(o.policies, func(q parsedPolicy) bool { return q.resource == p.resource })
	o.policies = append(o.policies, *p)

	o.prefixes = nil
	o.fqdnSels = nil
	for _, q := range o.policies {
		// pkg/policy/cell/policy_importer.go: updatePrefixes gives every prefix a policy references an
		// ipcache entry (and so a CIDR identity) with labels.GetCIDRLabels(prefix).
		for _, pfx := range policy.GetCIDRPrefixes(q.entries) {
			if !slices.Contains(o.prefixes, pfx) {
				o.prefixes = append(o.prefixes, pfx)
			}
		}
		// Peers that need cluster state the oracle does not have select nothing here; say so.
		for _, r := range q.rules {
			for _, e := range r.Egress {
				o.fqdnSels = append(o.fqdnSels, e.ToFQDNs...)
				if len(e.ToGroups) > 0 {
					o.warn(q.name + " uses toGroups; the oracle has no cloud provider groups, so those peers select nothing")
				}
			}
			for _, i := range r.Ingress {
				if len(i.FromGroups) > 0 {
					o.warn(q.name + " uses fromGroups; the oracle has no cloud provider groups, so those peers select nothing")
				}
			}
		}
		for _, e := range q.entries {
			if _, _, cidrGroup := e.L3.GetRuleTypes(); cidrGroup {
				o.warn(q.name + " refers to a CiliumCIDRGroup; the oracle has none, so those peers select nothing")
			}
		}
	}
}

func (o *oracle) warn(msg string) {
	if !slices.Contains(o.warnings, msg) {
		o.warnings = append(o.warnings, msg)
	}
}

// endpointLabels gives a subject its identity labels. Pod labels are taken as given ("source:key=value",
// e.g. k8s:app=web). A host endpoint gets reserved:host plus its node's labels as the agent gives them:
// pkg/endpoint/endpoint.go InitWithNodeLabels (and UpdateLabelsFrom, from the node-labels observer in
// pkg/endpointmanager/host.go) takes the Node's labels with source k8s (labels.Map2Labels) and keeps those
// that labelsfilter.Filter passes — the default filter drops e.g. kubernetes.io/hostname and
// topology.kubernetes.io/*, keeps node-role.kubernetes.io/* and custom labels.
func endpointLabels(ep *endpointIn) (labels.Labels, error) {
	lbls, err := parseLabels(ep.Labels)
	if err != nil {
		return nil, err
	}
	if ep.Host {
		lbls.MergeLabels(labels.LabelHost)
		if len(ep.NodeLabels) > 0 {
			idLbls, _ := labelsfilter.Filter(labels.Map2Labels(ep.NodeLabels, labels.LabelSourceK8s))
			lbls.MergeLabels(idLbls)
		}
	} else if len(ep.NodeLabels) > 0 {
		return nil, errors.New("nodeLabels is only for host endpoints")
	}
	if len(lbls) == 0 {
		return nil, errors.New("no labels")
	}
	return lbls, nil
}

func parseLabels(in []string) (labels.Labels, error) {
	for _, s := range in {
		if !strings.Contains(s, ":") {
			return nil, fmt.Errorf("label %q has no source (want e.g. k8s:%s or reserved:%s)", s, s, s)
		}
	}
	return labels.NewLabelsFromModel(in), nil
}

func (o *oracle) peerIdentity(p peerIn) (identity.NumericIdentity, error) {
	switch {
	case len(p.Labels) > 0 && p.IP != "":
		return 0, errors.New("peer: give labels or ip, not both")
	case len(p.Labels) > 0:
		if p.DNSName != "" {
			return 0, errors.New("peer: dnsName goes with ip")
		}
		lbls, err := parseLabels(p.Labels)
		if err != nil {
			return 0, fmt.Errorf("peer: %w", err)
		}
		return o.alloc.allocate(lbls), nil
	case p.IP != "":
		addr, err := netip.ParseAddr(p.IP)
		if err != nil {
			return 0, fmt.Errorf("peer: %w", err)
		}
		return o.alloc.allocate(o.ipLabels(addr.Unmap(), p.DNSName)), nil
	default:
		return 0, errors.New("peer: no labels and no ip")
	}
}

// flowKey builds the policy map key the datapath looks up (bpf/lib/policy.h: __policy_can_access; for
// ICMP and ICMPv6 the ICMP type takes the place of the destination port).
func flowKey(f flowIn, peer identity.NumericIdentity) (policy.Key, error) {
	var key policy.Key
	switch f.Direction {
	case "ingress":
		key = policy.IngressKey()
	case "egress":
		key = policy.EgressKey()
	default:
		return key, fmt.Errorf("direction %q: want ingress or egress", f.Direction)
	}
	proto, err := u8proto.ParseProtocol(f.Protocol)
	port := f.Port
	switch {
	case err != nil || (proto != u8proto.TCP && proto != u8proto.UDP && proto != u8proto.SCTP &&
		proto != u8proto.ICMP && proto != u8proto.ICMPv6):
		return key, fmt.Errorf("protocol %q: want TCP, UDP, SCTP, ICMP or ICMPv6", f.Protocol)
	case proto == u8proto.ICMP || proto == u8proto.ICMPv6:
		if f.ICMPType == nil {
			return key, fmt.Errorf("protocol %s needs icmpType", f.Protocol)
		}
		port = uint16(*f.ICMPType)
	default:
		if f.ICMPType != nil {
			return key, fmt.Errorf("icmpType goes with ICMP or ICMPv6, not %s", f.Protocol)
		}
		if port == 0 {
			return key, fmt.Errorf("protocol %s needs a port", f.Protocol)
		}
	}
	return key.WithIdentity(peer).WithPortProto(proto, port), nil
}

func (o *oracle) evaluate(f flowIn, peer identity.NumericIdentity) (result, error) {
	s, ok := o.subjects[f.Subject]
	if !ok {
		return result{}, fmt.Errorf("subject %q is not among the endpoints", f.Subject)
	}
	key, err := flowKey(f, peer)
	if err != nil {
		return result{}, err
	}
	res := result{Subject: o.alloc.out(s.id), Peer: o.alloc.out(peer)}
	if !s.done {
		s.done = true
		s.epp, s.parsers, s.err = o.endpointPolicy(s)
	}
	if s.err != nil {
		// The agent would fail the endpoint's regeneration; there is no verdict to give.
		res.Verdict = "error"
		res.Reason = s.err.Error()
		return res, nil
	}

	ingress := f.Direction == "ingress"
	enforced := s.epp.SelectorPolicy.EgressPolicyEnabled
	if ingress {
		enforced = s.epp.SelectorPolicy.IngressPolicyEnabled
	}
	// pkg/policy/resolve.go: EndpointPolicy.Lookup uses the datapath's precedence between the L3/L4 and
	// the L4-only entry (deny first, then proxy redirects, then the longer port prefix) and returns a
	// deny entry when nothing matches (default deny).
	entry, meta, found := s.epp.Lookup(key)
	res.Rules = ruleNames(meta.LabelArray())
	derived := derivedFrom(meta.LabelArray())

	switch {
	case entry.IsDeny():
		res.Verdict = "denied"
		switch {
		case !found:
			res.Reason = reasonNoRuleAllows
		case derived == policy.LabelDenyAnyIngress || derived == policy.LabelDenyAnyEgress:
			res.Reason = reasonSynthesizedDeny
		default:
			res.Reason = reasonDenyRule
		}
	default:
		res.Verdict = "allowed"
		switch {
		case !enforced && s.ep.Host && !option.Config.EnableHostFirewall:
			res.Reason = reasonHostFwDisabled
		case !enforced && policy.GetPolicyEnabled() == option.NeverEnforce:
			res.Reason = reasonNeverEnforce
		case !enforced:
			res.Reason = reasonNoPolicy
		case derived == policy.LabelAllowAnyIngress || derived == policy.LabelAllowAnyEgress:
			res.Reason = reasonNoDefaultDeny
		case derived == policy.LabelAllowLocalHostIngress:
			res.Reason = reasonLocalhost
		default:
			res.Reason = reasonAllowed
		}
		if entry.ProxyPort != 0 {
			res.L7 = s.parsers[entry.ProxyPort]
			if res.L7 == "" {
				res.L7 = "proxy"
			}
		}
		// The datapath asks for authentication whenever the entry's auth type is set, explicit or derived
		// from a covering entry (bpf/lib/policy.h __policy_check).
		if t := entry.AuthRequirement.AuthType(); t != policytypes.AuthTypeDisabled {
			res.Auth = t.String()
		}
	}
	// bpf/lib/policy.h: under POLICY_AUDIT_MODE policy_can_ingress/policy_can_egress turn every policy
	// drop (deny rules included) into CTX_ACT_OK and mark the verdict audited.
	if res.Verdict == "denied" && option.Config.PolicyAuditMode {
		res.Verdict = "allowed"
		res.Audited = true
		res.Reason = "policy audit mode: " + res.Reason
	}
	return res, nil
}

// endpointPolicy resolves the subject's SelectorPolicy and distills it into an EndpointPolicy, the way
// endpoint regeneration does (pkg/endpoint/policy.go regeneratePolicy, pkg/endpoint/bpf.go
// addNewRedirects), and the way pkg/policy/lookup.go (LookupFlow) does for Cilium's own tests.
func (o *oracle) endpointPolicy(s *subject) (*policy.EndpointPolicy, map[uint16]string, error) {
	id := identity.NewIdentity(s.id, o.alloc.labels[s.id])
	sp, err := o.repo.selectorPolicy(id, s.owner.GetID())
	if err != nil {
		return nil, nil, err
	}
	redirects, parsers := redirectPorts(sp, s.owner)
	return o.repo.distill(o.logger, sp, s.owner, redirects), parsers, nil
}

// redirectPorts gives every proxy redirect of the policy a port, as the endpoint does before it
// distills its policy (pkg/endpoint/bpf.go addNewRedirects with the proxy ID of pkg/endpoint/policy.go
// proxyID): DistillPolicy drops a redirecting entry whose proxy port it cannot find ("Skipping
// unrealized redirect", pkg/policy/l4.go makeMapStateEntry). It also remembers each port's L7 parser.
func redirectPorts(sp policy.SelectorPolicy, o *owner) (map[string]uint16, map[uint16]string) {
	redirects := map[string]uint16{}
	parsers := map[uint16]string{}
	next := uint16(10000)
	for l4, tuple := range sp.RedirectFilters() {
		listener := tuple.Policy.GetListener()
		port := l4.Port
		if port == 0 && l4.PortName != "" {
			proto := l4.U8Proto
			if proto == 0 && !l4.Protocol.IsAny() {
				proto, _ = u8proto.ParseProtocol(string(l4.Protocol))
			}
			if !l4.Ingress {
				continue // egress named ports are not modelled
			}
			port = o.ingressNamedPort(l4.PortName, proto)
			if port == 0 {
				continue
			}
		}
		proxyID := policy.ProxyID(uint16(o.GetID()), l4.Ingress, string(l4.Protocol), port, listener)
		if _, ok := redirects[proxyID]; ok {
			continue
		}
		redirects[proxyID] = next
		parsers[next] = string(tuple.Policy.L7Parser)
		next++
	}
	return redirects, parsers
}

// ruleNames names the policies a map entry was derived from ("Kind namespace/name"), or gives the
// raw rule labels for entries Cilium synthesizes.
func ruleNames(list labels.LabelArrayList) []string {
	var names []string
	for _, la := range list {
		var kind, ns, name string
		for _, l := range la {
			switch l.Key {
			case k8sConst.PolicyLabelDerivedFrom:
				kind = l.Value
			case k8sConst.PolicyLabelNamespace:
				ns = l.Value
			case k8sConst.PolicyLabelName:
				name = l.Value
			}
		}
		var n string
		switch {
		case name != "" && ns != "":
			n = kind + " " + ns + "/" + name
		case name != "":
			n = kind + " " + name
		default:
			n = la.String()
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// derivedFrom returns the value of the reserved io.cilium.policy.derived-from label Cilium puts on the
// entries it synthesizes (pkg/policy/mapstate.go: LabelsAllowAnyIngress and friends), if that is all.
func derivedFrom(list labels.LabelArrayList) string {
	if len(list) != 1 {
		return ""
	}
	for _, l := range list[0] {
		if l.Key == policy.LabelKeyPolicyDerivedFrom && l.Source == labels.LabelSourceReserved {
			return l.Value
		}
	}
	return ""
}

// ---- the policy owner (the endpoint) ----

// owner stands in for pkg/endpoint.Endpoint as the PolicyOwner of an EndpointPolicy, like
// pkg/policy/lookup.go's endpointInfo, but it can be the host endpoint (IsHost), which decides
// whether DistillPolicy adds the allow-localhost entry.
type owner struct {
	id         uint64
	host       bool
	namedPorts []namedPortIn
}

func newOwner(id uint64, ep *endpointIn) *owner {
	return &owner{id: id, host: ep.Host, namedPorts: ep.NamedPorts}
}

func (o *owner) GetID() uint64 { return o.id }

func (o *owner) IsHost() bool { return o.host }

func (o *owner) PolicyDebug(msg string, attrs ...any) {}

func (o *owner) PreviousMapState() *policy.MapState { return nil }

func (o *owner) RegenerateIfAlive(*regeneration.ExternalRegenerationMetadata) <-chan bool {
	ch := make(chan bool)
	close(ch)
	return ch
}

var _ policy.PolicyOwner = &owner{}

// ingressNamedPort resolves a named port of the subject itself (a pod's container ports).
func (o *owner) ingressNamedPort(name string, proto u8proto.U8proto) uint16 {
	for _, np := range o.namedPorts {
		p, err := u8proto.ParseProtocol(np.Protocol)
		if np.Protocol == "" {
			p, err = u8proto.TCP, nil
		}
		if err == nil && np.Name == name && p == proto {
			return np.Port
		}
	}
	return 0
}

// ---- stand-ins for the agent's collaborators that the policy code calls ----

// fqdnNotifier stands in for the agent's FQDN name manager, which the SelectorCache tells about
// toFQDNs selectors (pkg/policy/selectorcache.go identityNotifier). The oracle derives FQDN identities
// itself (ipcache.go), so there is nothing to record.
type fqdnNotifier struct{}

func (fqdnNotifier) RegisterFQDNSelector(api.FQDNSelector) uint64   { return 0 }
func (fqdnNotifier) UnregisterFQDNSelector(api.FQDNSelector) uint64 { return 0 }
