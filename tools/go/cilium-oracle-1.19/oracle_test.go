package main

// The oracle's behaviour, case by case, at the Cilium version of this module. This file is shared
// with tools/go/cilium-oracle-1.20 (a symlink there); where the two Cilium versions differ,
// the test says so by ciliumVersion.

import (
	"encoding/json"
	"strings"
	"testing"
)

const (
	shopWeb = `{"name": "shop/web", "labels": ["k8s:app=web", "k8s:io.kubernetes.pod.namespace=shop",
		"k8s:io.cilium.k8s.policy.serviceaccount=default", "k8s:io.cilium.k8s.policy.cluster=default"]}`
	shopDB = `{"name": "shop/db", "labels": ["k8s:app=db", "k8s:io.kubernetes.pod.namespace=shop",
		"k8s:io.cilium.k8s.policy.cluster=default"]}`
	worker = `{"name": "host/castle-worker", "host": true, "labels": ["reserved:host"],
		"nodeLabels": {"node-access": "ssh", "kubernetes.io/hostname": "castle-worker",
			"node-role.kubernetes.io/worker": "", "topology.kubernetes.io/zone": "a"}}`
)

// pod is a peer pod's label list in namespace ns of cluster cluster.
func pod(app, ns, cluster string) string {
	return `{"labels": ["k8s:app=` + app + `", "k8s:io.kubernetes.pod.namespace=` + ns +
		`", "k8s:io.cilium.k8s.policy.cluster=` + cluster + `"]}`
}

func ip(addr string) string { return `{"ip": "` + addr + `"}` }

func flow(subject, dir, peer string, port int, proto string) string {
	b, _ := json.Marshal(map[string]any{"subject": subject, "direction": dir, "port": port, "protocol": proto})
	return strings.TrimSuffix(string(b), "}") + `, "peer": ` + peer + `}`
}

func icmp(subject, dir, peer string, typ int) string {
	b, _ := json.Marshal(map[string]any{"subject": subject, "direction": dir, "protocol": "ICMP", "icmpType": typ})
	return strings.TrimSuffix(string(b), "}") + `, "peer": ` + peer + `}`
}

func cnp(ns, name, spec string) string {
	return `{"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
		"metadata": {"name": "` + name + `", "namespace": "` + ns + `"}, "spec": ` + spec + `}`
}

func ccnp(name, spec string) string {
	return `{"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
		"metadata": {"name": "` + name + `"}, "spec": ` + spec + `}`
}

type tcase struct {
	options   string
	policies  []string
	endpoints []string
	flows     []string
	services  string // a JSON list, default none
}

func (c tcase) run(t *testing.T) *output {
	t.Helper()
	opts := c.options
	if opts == "" {
		opts = `{"enableHostFirewall": true}`
	}
	doc := `{"clusterName": "default", "options": ` + opts +
		`, "policies": [` + strings.Join(c.policies, ",") +
		`], "endpoints": [` + strings.Join(c.endpoints, ",") +
		`], "flows": [` + strings.Join(c.flows, ",") + `]`
	if c.services != "" {
		doc += `, "services": ` + c.services
	}
	doc += `}`
	var in input
	if err := json.Unmarshal([]byte(doc), &in); err != nil {
		t.Fatalf("test input: %v\n%s", err, doc)
	}
	out, err := run(&in)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(out.Results) != len(c.flows) {
		t.Fatalf("%d results for %d flows", len(out.Results), len(c.flows))
	}
	return out
}

// want checks verdict and reason (and l7, if given) of result i.
func want(t *testing.T, out *output, i int, verdict, reason string, l7 ...string) {
	t.Helper()
	r := out.Results[i]
	if r.Verdict != verdict || r.Reason != reason {
		t.Errorf("flow %d: got %s (%s), want %s (%s); peer %v rules %v", i, r.Verdict, r.Reason, verdict, reason, r.Peer, r.Rules)
	}
	if len(l7) > 0 && r.L7 != l7[0] {
		t.Errorf("flow %d: got l7 %q, want %q", i, r.L7, l7[0])
	}
}

const allowFrontend = `{"endpointSelector": {"matchLabels": {"app": "web"}},
	"ingress": [{"fromEndpoints": [{"matchLabels": {"app": "frontend"}}],
		"toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]}`

func TestFromEndpointsNamespaceAndCluster(t *testing.T) {
	out := tcase{
		policies:  []string{cnp("shop", "allow-frontend", allowFrontend)},
		endpoints: []string{shopWeb},
		flows: []string{
			flow("shop/web", "ingress", pod("frontend", "shop", "default"), 8080, "TCP"),
			// Parse scopes fromEndpoints to the policy's namespace ...
			flow("shop/web", "ingress", pod("frontend", "other", "default"), 8080, "TCP"),
			// ... and, with policy-default-local-cluster, to the local cluster.
			flow("shop/web", "ingress", pod("frontend", "shop", "mesh-2"), 8080, "TCP"),
			flow("shop/web", "ingress", pod("frontend", "shop", "default"), 8081, "TCP"),
			flow("shop/web", "ingress", pod("frontend", "shop", "default"), 8080, "UDP"),
		},
	}.run(t)
	want(t, out, 0, "allowed", reasonAllowed)
	if got := out.Results[0].Rules; len(got) != 1 || got[0] != "CiliumNetworkPolicy shop/allow-frontend" {
		t.Errorf("rules %v", got)
	}
	want(t, out, 1, "denied", reasonNoRuleAllows)
	want(t, out, 2, "denied", reasonNoRuleAllows)
	want(t, out, 3, "denied", reasonNoRuleAllows)
	want(t, out, 4, "denied", reasonNoRuleAllows)
}

func TestPolicyDefaultLocalClusterOff(t *testing.T) {
	out := tcase{
		options:   `{"policyDefaultLocalCluster": false}`,
		policies:  []string{cnp("shop", "allow-frontend", allowFrontend)},
		endpoints: []string{shopWeb},
		flows:     []string{flow("shop/web", "ingress", pod("frontend", "shop", "mesh-2"), 8080, "TCP")},
	}.run(t)
	want(t, out, 0, "allowed", reasonAllowed)
}

func TestCIDRAndWorld(t *testing.T) {
	out := tcase{
		policies: []string{cnp("shop", "cidr", `{"endpointSelector": {"matchLabels": {"app": "web"}},
			"ingress": [{"fromCIDR": ["10.1.101.110/32"]},
				{"fromEntities": ["world"], "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}]}`)},
		endpoints: []string{shopWeb},
		flows: []string{
			flow("shop/web", "ingress", ip("10.1.101.110"), 5432, "TCP"),
			flow("shop/web", "ingress", ip("10.1.101.111"), 5432, "TCP"),
			flow("shop/web", "ingress", ip("10.1.101.111"), 80, "TCP"),
			// A CIDR identity carries reserved:world too, so fromEntities world selects it.
			flow("shop/web", "ingress", ip("10.1.101.110"), 80, "TCP"),
			flow("shop/web", "ingress", `{"labels": ["reserved:world"]}`, 80, "TCP"),
			flow("shop/web", "ingress", `{"labels": ["reserved:remote-node"]}`, 80, "TCP"),
		},
	}.run(t)
	want(t, out, 0, "allowed", reasonAllowed)
	if p := out.Results[0].Peer; strings.Join(p.Labels, ",") != "cidr:10.1.101.110/32,reserved:world" || p.Identity < 1<<24 {
		t.Errorf("peer of 10.1.101.110: %+v", p)
	}
	want(t, out, 1, "denied", reasonNoRuleAllows)
	if p := out.Results[1].Peer; p.Identity != 2 {
		t.Errorf("10.1.101.111 should be world (2): %+v", p)
	}
	want(t, out, 2, "allowed", reasonAllowed)
	want(t, out, 3, "allowed", reasonAllowed)
	want(t, out, 4, "allowed", reasonAllowed)
	want(t, out, 5, "denied", reasonNoRuleAllows)
}

// hostSSH is a host policy: SSH from the admin network only.
var hostSSH = ccnp("host-ssh", `{"nodeSelector": {"matchLabels": {"node-access": "ssh"}},
	"ingress": [{"fromCIDR": ["192.168.1.0/24"], "toPorts": [{"ports": [{"port": "22", "protocol": "TCP"}]}]}]}`)

func TestHostPolicy(t *testing.T) {
	c := tcase{
		policies:  []string{hostSSH},
		endpoints: []string{worker, shopWeb},
		flows: []string{
			flow("host/castle-worker", "ingress", ip("192.168.1.7"), 22, "TCP"),
			flow("host/castle-worker", "ingress", ip("192.168.1.7"), 6443, "TCP"),
			flow("host/castle-worker", "ingress", ip("10.0.0.1"), 22, "TCP"),
			flow("host/castle-worker", "egress", ip("192.168.1.7"), 6443, "TCP"),
			// A host policy does not apply to pods.
			flow("shop/web", "ingress", ip("192.168.1.7"), 6443, "TCP"),
		},
	}
	out := c.run(t)
	want(t, out, 0, "allowed", reasonAllowed)
	want(t, out, 1, "denied", reasonNoRuleAllows)
	want(t, out, 2, "denied", reasonNoRuleAllows)
	want(t, out, 3, "allowed", reasonNoPolicy)
	want(t, out, 4, "allowed", reasonNoPolicy)
	// The host endpoint's labels: node labels through Cilium's default label filter.
	if got := strings.Join(out.Results[0].Subject.Labels, ","); got != "k8s:node-access=ssh,k8s:node-role.kubernetes.io/worker,reserved:host" {
		t.Errorf("host labels: %s", got)
	}

	c.options = `{"enableHostFirewall": false}`
	out = c.run(t)
	want(t, out, 1, "allowed", reasonHostFwDisabled)
}

func TestHostPolicyOnFilteredNodeLabel(t *testing.T) {
	// labelsfilter drops kubernetes.io/hostname from the host endpoint's identity, so a nodeSelector
	// on it selects no host.
	out := tcase{
		policies: []string{ccnp("by-hostname", `{"nodeSelector": {"matchLabels": {"kubernetes.io/hostname": "castle-worker"}},
			"ingress": [{"fromEntities": ["cluster"]}]}`)},
		endpoints: []string{worker},
		flows:     []string{flow("host/castle-worker", "ingress", ip("203.0.113.10"), 22, "TCP")},
	}.run(t)
	want(t, out, 0, "allowed", reasonNoPolicy)
}

func TestDenyWins(t *testing.T) {
	out := tcase{
		policies: []string{
			cnp("shop", "allow-all", `{"endpointSelector": {}, "ingress": [{"fromEntities": ["all"]}]}`),
			cnp("shop", "deny", `{"endpointSelector": {"matchLabels": {"app": "web"}},
				"ingressDeny": [{"fromCIDR": ["10.9.0.0/16"]},
					{"fromEndpoints": [{"matchLabels": {"app": "db"}}], "toPorts": [{"ports": [{"port": "22", "protocol": "TCP"}]}]}]}`),
		},
		endpoints: []string{shopWeb, shopDB},
		flows: []string{
			flow("shop/web", "ingress", ip("10.9.3.4"), 443, "TCP"),
			flow("shop/web", "ingress", ip("10.8.3.4"), 443, "TCP"),
			flow("shop/web", "ingress", pod("db", "shop", "default"), 22, "TCP"),
			flow("shop/web", "ingress", pod("db", "shop", "default"), 23, "TCP"),
			flow("shop/db", "ingress", ip("10.9.3.4"), 443, "TCP"),
		},
	}.run(t)
	want(t, out, 0, "denied", reasonDenyRule)
	if got := out.Results[0].Rules; len(got) != 1 || got[0] != "CiliumNetworkPolicy shop/deny" {
		t.Errorf("rules %v", got)
	}
	want(t, out, 1, "allowed", reasonAllowed)
	want(t, out, 2, "denied", reasonDenyRule)
	want(t, out, 3, "allowed", reasonAllowed)
	want(t, out, 4, "allowed", reasonAllowed)
}

func TestPortRange(t *testing.T) {
	out := tcase{
		policies: []string{cnp("shop", "range", `{"endpointSelector": {"matchLabels": {"app": "web"}},
			"ingress": [{"fromEntities": ["world"], "toPorts": [{"ports": [{"port": "9000", "endPort": 9010, "protocol": "TCP"}]}]}]}`)},
		endpoints: []string{shopWeb},
		flows: []string{
			flow("shop/web", "ingress", ip("203.0.113.10"), 8999, "TCP"),
			flow("shop/web", "ingress", ip("203.0.113.10"), 9000, "TCP"),
			flow("shop/web", "ingress", ip("203.0.113.10"), 9005, "TCP"),
			flow("shop/web", "ingress", ip("203.0.113.10"), 9010, "TCP"),
			flow("shop/web", "ingress", ip("203.0.113.10"), 9011, "TCP"),
		},
	}.run(t)
	want(t, out, 0, "denied", reasonNoRuleAllows)
	want(t, out, 1, "allowed", reasonAllowed)
	want(t, out, 2, "allowed", reasonAllowed)
	want(t, out, 3, "allowed", reasonAllowed)
	want(t, out, 4, "denied", reasonNoRuleAllows)
}

func TestICMP(t *testing.T) {
	out := tcase{
		policies: []string{cnp("shop", "ping", `{"endpointSelector": {"matchLabels": {"app": "web"}},
			"ingress": [{"fromEntities": ["world"], "icmps": [{"fields": [{"type": 8, "family": "IPv4"}]}]}],
			"egress": [{"toEntities": ["world"], "icmps": [{"fields": [{"type": "EchoReply", "family": "IPv4"}]}]}]}`)},
		endpoints: []string{shopWeb},
		flows: []string{
			icmp("shop/web", "ingress", ip("203.0.113.10"), 8),
			icmp("shop/web", "ingress", ip("203.0.113.10"), 0),
			flow("shop/web", "ingress", ip("203.0.113.10"), 8, "TCP"),
			// Echo reply is type 0, and pkg/policy/api/icmp.go ICMPField.PortProtocol makes the type
			// the port: "0", which the policy takes for "any port". So an EchoReply rule allows every
			// ICMP type.
			icmp("shop/web", "egress", ip("203.0.113.10"), 0),
			icmp("shop/web", "egress", ip("203.0.113.10"), 8),
			flow("shop/web", "egress", ip("203.0.113.10"), 80, "TCP"),
		},
	}.run(t)
	want(t, out, 0, "allowed", reasonAllowed)
	want(t, out, 1, "denied", reasonNoRuleAllows)
	want(t, out, 2, "denied", reasonNoRuleAllows)
	want(t, out, 3, "allowed", reasonAllowed)
	want(t, out, 4, "allowed", reasonAllowed)
	want(t, out, 5, "denied", reasonNoRuleAllows)
}

func TestDNSAndFQDN(t *testing.T) {
	kubeDNS := `{"labels": ["k8s:k8s-app=kube-dns", "k8s:io.kubernetes.pod.namespace=kube-system", "k8s:io.cilium.k8s.policy.cluster=default"]}`
	out := tcase{
		policies: []string{cnp("shop", "egress", `{"endpointSelector": {"matchLabels": {"app": "web"}},
			"egress": [
				{"toEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s-app": "kube-dns"}}],
					"toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}], "rules": {"dns": [{"matchPattern": "*"}]}}]},
				{"toFQDNs": [{"matchName": "api.example.com"}, {"matchPattern": "*.cdn.example.net"}],
					"toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]},
				{"toEndpoints": [{"matchLabels": {"app": "db"}}],
					"toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}], "rules": {"http": [{"method": "GET"}]}}]}]}`)},
		endpoints: []string{shopWeb},
		flows: []string{
			flow("shop/web", "egress", kubeDNS, 53, "UDP"),
			flow("shop/web", "egress", kubeDNS, 53, "TCP"),
			flow("shop/web", "egress", `{"ip": "93.184.216.34", "dnsName": "api.example.com"}`, 443, "TCP"),
			flow("shop/web", "egress", `{"ip": "93.184.216.35", "dnsName": "img.cdn.example.net"}`, 443, "TCP"),
			flow("shop/web", "egress", `{"ip": "93.184.216.34", "dnsName": "other.example.com"}`, 443, "TCP"),
			flow("shop/web", "egress", ip("93.184.216.34"), 443, "TCP"),
			flow("shop/web", "egress", pod("db", "shop", "default"), 80, "TCP"),
			flow("shop/web", "egress", pod("db", "shop", "default"), 5432, "TCP"),
		},
	}.run(t)
	want(t, out, 0, "allowed", reasonAllowed, "dns")
	want(t, out, 1, "allowed", reasonAllowed, "dns")
	want(t, out, 2, "allowed", reasonAllowed, "")
	want(t, out, 3, "allowed", reasonAllowed, "")
	want(t, out, 4, "denied", reasonNoRuleAllows)
	want(t, out, 5, "denied", reasonNoRuleAllows)
	want(t, out, 6, "allowed", reasonAllowed, "http")
	want(t, out, 7, "denied", reasonNoRuleAllows)
	if got := strings.Join(out.Results[2].Peer.Labels, ","); got != "fqdn:api.example.com,reserved:world" {
		t.Errorf("fqdn peer labels: %s", got)
	}
}

func TestRefused(t *testing.T) {
	out := tcase{
		policies: []string{
			cnp("shop", "bad-port", `{"endpointSelector": {}, "ingress": [{"toPorts": [{"ports": [{"port": "99999", "protocol": "TCP"}]}]}]}`),
			cnp("shop", "node-selector", `{"nodeSelector": {"matchLabels": {"a": "b"}}, "ingress": [{}]}`),
			cnp("shop", "icmp-and-ports", `{"endpointSelector": {}, "ingress": [{"icmps": [{"fields": [{"type": 8}]}],
				"toPorts": [{"ports": [{"port": "80"}]}]}]}`),
			`{"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "empty", "namespace": "shop"}}`,
			cnp("shop", "not-a-list", `{"endpointSelector": {}, "ingress": {"fromEntities": ["all"]}}`),
			cnp("shop", "allow-frontend", allowFrontend),
		},
		endpoints: []string{shopWeb},
		flows: []string{
			// The refused policies take no effect; allow-frontend does.
			flow("shop/web", "ingress", pod("frontend", "shop", "default"), 8080, "TCP"),
			flow("shop/web", "ingress", pod("frontend", "shop", "default"), 80, "TCP"),
		},
	}.run(t)
	want(t, out, 0, "allowed", reasonAllowed)
	want(t, out, 1, "denied", reasonNoRuleAllows)
	wantRefused := map[string]string{
		"CiliumNetworkPolicy shop/bad-port":       "Invalid CiliumNetworkPolicy spec: unable to parse port",
		"CiliumNetworkPolicy shop/node-selector":  "Invalid CiliumNetworkPolicy spec: rule cannot have NodeSelector",
		"CiliumNetworkPolicy shop/icmp-and-ports": "Invalid CiliumNetworkPolicy spec: the ICMPs block may only be present without ToPorts",
		"CiliumNetworkPolicy shop/empty":          "empty",
		"CiliumNetworkPolicy shop/not-a-list":     "cannot unmarshal",
	}
	if len(out.Refused) != len(wantRefused) {
		t.Errorf("refused: %+v", out.Refused)
	}
	for _, r := range out.Refused {
		if w, ok := wantRefused[r.Policy]; !ok || !strings.Contains(r.Reason, w) {
			t.Errorf("refused %s: %q (want it to contain %q)", r.Policy, r.Reason, w)
		}
	}
}

func TestDefaultAllowAndDefaultDeny(t *testing.T) {
	out := tcase{
		policies: []string{
			cnp("shop", "allow-frontend", allowFrontend),
			cnp("shop", "db-audit", `{"endpointSelector": {"matchLabels": {"app": "db"}},
				"enableDefaultDeny": {"ingress": false},
				"ingress": [{"fromEntities": ["world"], "toPorts": [{"ports": [{"port": "5432", "protocol": "TCP"}]}]}],
				"ingressDeny": [{"fromEntities": ["world"], "toPorts": [{"ports": [{"port": "22", "protocol": "TCP"}]}]}]}`),
		},
		endpoints: []string{shopWeb, shopDB, `{"name": "other/x", "labels": ["k8s:app=x", "k8s:io.kubernetes.pod.namespace=other"]}`},
		flows: []string{
			flow("other/x", "ingress", ip("203.0.113.10"), 80, "TCP"),
			// allow-frontend has no egress section: egress stays default allow.
			flow("shop/web", "egress", ip("203.0.113.10"), 80, "TCP"),
			flow("shop/db", "ingress", ip("203.0.113.10"), 80, "TCP"),
			flow("shop/db", "ingress", ip("203.0.113.10"), 22, "TCP"),
			flow("shop/db", "ingress", ip("203.0.113.10"), 5432, "TCP"),
		},
	}.run(t)
	want(t, out, 0, "allowed", reasonNoPolicy)
	want(t, out, 1, "allowed", reasonNoPolicy)
	want(t, out, 2, "allowed", reasonNoDefaultDeny)
	want(t, out, 3, "denied", reasonDenyRule)
	want(t, out, 4, "allowed", reasonAllowed)
}

func TestAllowLocalhostAndAuditMode(t *testing.T) {
	c := tcase{
		policies:  []string{cnp("shop", "allow-frontend", allowFrontend)},
		endpoints: []string{shopWeb},
		flows: []string{
			flow("shop/web", "ingress", `{"labels": ["reserved:host"]}`, 8081, "TCP"),
			flow("shop/web", "ingress", ip("203.0.113.10"), 8081, "TCP"),
		},
	}
	out := c.run(t)
	want(t, out, 0, "allowed", reasonLocalhost)
	want(t, out, 1, "denied", reasonNoRuleAllows)

	c.options = `{"allowLocalhost": "policy", "policyAuditMode": true}`
	out = c.run(t)
	want(t, out, 0, "allowed", "policy audit mode: "+reasonNoRuleAllows)
	if !out.Results[0].Audited {
		t.Errorf("flow 0 not audited")
	}
}

func TestPolicyEnforcementAlways(t *testing.T) {
	out := tcase{
		options:   `{"policyEnforcementMode": "always"}`,
		endpoints: []string{shopWeb},
		flows:     []string{flow("shop/web", "egress", ip("203.0.113.10"), 80, "TCP")},
	}.run(t)
	want(t, out, 0, "denied", reasonNoRuleAllows)
}

func TestInputErrors(t *testing.T) {
	for _, doc := range []string{
		`{"endpoints": [` + shopWeb + `], "flows": [` + flow("nobody", "ingress", ip("1.2.3.4"), 80, "TCP") + `]}`,
		`{"endpoints": [` + shopWeb + `], "flows": [` + flow("shop/web", "sideways", ip("1.2.3.4"), 80, "TCP") + `]}`,
		`{"endpoints": [` + shopWeb + `], "flows": [` + flow("shop/web", "ingress", `{"labels": ["app=x"]}`, 80, "TCP") + `]}`,
		`{"endpoints": [` + shopWeb + `], "flows": [` + flow("shop/web", "ingress", ip("1.2.3.4"), 80, "GRE") + `]}`,
		`{"policies": [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "x"}}]}`,
	} {
		if _, err := runJSON([]byte(doc)); err == nil {
			t.Errorf("no error for %s", doc)
		}
	}
}

func TestToServices(t *testing.T) {
	services := `[{"name": "db", "namespace": "shop", "labels": {"tier": "data"}, "selector": {"app": "db"}},
		{"name": "ext", "namespace": "shop", "backends": ["203.0.113.7"]}]`
	egress := func(item string) string {
		return `{"endpointSelector": {"matchLabels": {"app": "web"}}, "egress": [{"toServices": [` + item + `]}]}`
	}
	out := tcase{
		policies: []string{
			cnp("shop", "to-db", egress(`{"k8sService": {"serviceName": "db", "namespace": "shop"}}`)),
			cnp("shop", "to-tier", egress(`{"k8sServiceSelector": {"selector": {"matchLabels": {"tier": "data"}}}}`)),
			cnp("shop", "to-ext", egress(`{"k8sService": {"serviceName": "ext"}}`)),
		},
		endpoints: []string{shopWeb},
		services:  services,
		flows: []string{
			flow("shop/web", "egress", pod("db", "shop", "default"), 5432, "TCP"),
			flow("shop/web", "egress", pod("cache", "shop", "default"), 5432, "TCP"),
			flow("shop/web", "egress", ip("203.0.113.7"), 443, "TCP"),
			flow("shop/web", "egress", ip("203.0.113.8"), 443, "TCP"),
		},
	}.run(t)
	want(t, out, 0, "allowed", reasonAllowed)
	if got := out.Results[0].Rules; len(got) != 2 {
		t.Errorf("flow 0: rules %v, want to-db and to-tier", got)
	}
	want(t, out, 1, "denied", reasonNoRuleAllows)
	want(t, out, 2, "allowed", reasonAllowed)
	want(t, out, 3, "denied", reasonNoRuleAllows)
}

func TestAuthDerived(t *testing.T) {
	l3 := `{"endpointSelector": {"matchLabels": {"app": "web"}},
		"ingress": [{"fromEndpoints": [{"matchLabels": {"app": "frontend"}}], "authentication": {"mode": "required"}}]}`
	out := tcase{
		policies:  []string{cnp("shop", "auth-l3", l3), cnp("shop", "allow-frontend", allowFrontend)},
		endpoints: []string{shopWeb},
		flows: []string{
			flow("shop/web", "ingress", pod("frontend", "shop", "default"), 8080, "TCP"),
			flow("shop/web", "ingress", pod("frontend", "shop", "default"), 9090, "TCP"),
		},
	}.run(t)
	// The port entry without authentication inherits spire from the covering L3-only entry.
	for i := range 2 {
		want(t, out, i, "allowed", reasonAllowed)
		if out.Results[i].Auth != "spire" {
			t.Errorf("flow %d: auth %q, want spire", i, out.Results[i].Auth)
		}
	}
}
