// The API server's first word on a policy: the CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy CRD
// schemas, through @kubernetes-models/cilium (generated from Cilium's CRDs; ESM-only, so loaded with a
// dynamic import()). A policy the schema refuses is never stored, so it takes no effect: the CLI leaves it
// out of every verdict and says so, and the policy pack refuses the change.

import { CNP_KIND } from "../lib/cilium/policy";
import type { Untyped } from "../lib/untyped";

/** The schema's complaints about one policy object; empty when the API server would store it. */
export async function crdSchemaErrors(props: Untyped): Promise<string[]> {
  // The models' constructors take their own typed shape; the props are checked by validate() below.
  const model =
    props.kind === CNP_KIND
      ? await import("@kubernetes-models/cilium/cilium.io/v2/CiliumNetworkPolicy").then(
          ({ CiliumNetworkPolicy: M }) => new M(props as ConstructorParameters<typeof M>[0]),
        )
      : await import("@kubernetes-models/cilium/cilium.io/v2/CiliumClusterwideNetworkPolicy").then(
          ({ CiliumClusterwideNetworkPolicy: M }) => new M(props as ConstructorParameters<typeof M>[0]),
        );
  try {
    model.validate();
    return [];
  } catch (e) {
    return [String((e as Error).message)];
  }
}

/** The policies the API server would store, and a warning for each it refuses. */
export async function withoutSchemaRefusals<P extends Untyped>(
  policies: P[],
  errorsOf: (p: P) => Promise<string[]> = crdSchemaErrors,
): Promise<{ policies: P[]; warnings: string[] }> {
  const kept: P[] = [];
  const warnings: string[] = [];
  for (const p of policies) {
    const errors = await errorsOf(p);
    if (errors.length === 0) kept.push(p);
    else {
      const kind = p.kind === CNP_KIND ? "CNP" : "CCNP";
      const name = p.metadata?.namespace ? `${p.metadata.namespace}/${p.metadata?.name}` : p.metadata?.name;
      warnings.push(
        `${kind} ${name} is refused by the API server (CRD schema) (it takes no effect): ${errors.join("; ").replace(/\s+/g, " ")}`,
      );
    }
  }
  return { policies: kept, warnings };
}
