// The cilium-operator registers the CNP/CCNP CRDs after it starts, so a policy created right after the
// Helm release fails with "no matches for kind". The gate polls until both CRDs exist and are Established.

export const CILIUM_POLICY_CRDS = [
  "ciliumnetworkpolicies.cilium.io",
  "ciliumclusterwidenetworkpolicies.cilium.io",
] as const;

export const CRD_GATE_TIMEOUT_SECONDS = 600;

/**
 * The gate script. `kubectl wait` fails at once on a CRD that does not exist yet, so it first polls
 * `kubectl get`, then waits for the Established condition, asking again while the CRD has no conditions. A kubeconfig handed over in CASTLE_KUBECONFIG
 * (kind, or an existing cluster with a kubeconfig secret) is written to a private temp file; without it
 * kubectl uses the ambient kubeconfig, as the Kubernetes provider does.
 */
export function crdGateScript(timeoutSeconds = CRD_GATE_TIMEOUT_SECONDS): string {
  return `set -eu
if [ -n "\${CASTLE_KUBECONFIG:-}" ]; then
  KUBECONFIG=$(mktemp)
  export KUBECONFIG
  trap 'rm -f "$KUBECONFIG"' EXIT
  printf '%s' "$CASTLE_KUBECONFIG" > "$KUBECONFIG"
fi
deadline=$(( $(date +%s) + ${timeoutSeconds} ))
for crd in ${CILIUM_POLICY_CRDS.join(" ")}; do
  until kubectl get crd "$crd" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "cilium-castle: CRD $crd was not registered within ${timeoutSeconds}s; check 'kubectl -n kube-system logs deploy/cilium-operator'" >&2
      exit 1
    fi
    sleep 3
  done
  # kubectl wait fails at once instead of waiting while a new CRD has no status conditions yet
  # (".status.conditions accessor error: <nil>"): the API server's apiextensions controller sets them a
  # moment after creation. Ask again until the deadline.
  until kubectl wait --for=condition=Established --timeout=60s "crd/$crd" >&2; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "cilium-castle: CRD $crd was not Established within ${timeoutSeconds}s; check 'kubectl get crd $crd -o yaml'" >&2
      exit 1
    fi
    sleep 2
  done
done
echo "${CILIUM_POLICY_CRDS.join(" ")} established"
`;
}
