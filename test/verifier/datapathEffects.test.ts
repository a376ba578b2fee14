// The table of what the engine models on top of Cilium's policy repository names real conformance cases,
// and the engine marks each effect it claims to model in its own case.

import { strict as assert } from "assert";
import * as YAML from "yaml";
import { DATAPATH_EFFECTS, MODELLED_WITHOUT_DISAGREEMENT } from "../../scripts/conformance/datapathEffects";
import { CiliumPolicyObject, PolicyEngine } from "../../verifier/engine";
import { CASES } from "./cases";

const policiesOf = (c: (typeof CASES)[number]): CiliumPolicyObject[] =>
  c.policies.flatMap((p) =>
    typeof p === "string"
      ? YAML.parseAllDocuments(p)
          .map((d) => d.toJS() as CiliumPolicyObject)
          .filter(Boolean)
      : [p],
  );

describe("verifier: the datapath effects table", () => {
  for (const e of [...DATAPATH_EFFECTS, ...MODELLED_WITHOUT_DISAGREEMENT]) {
    it(`${e.id ?? e.caseId}: its case exists${e.id && e.id !== "tunnel-source-identity" ? " and the engine marks the effect there" : ""}`, () => {
      const c = CASES.find((x) => x.id === e.caseId);
      assert.ok(c, `no conformance case ${e.caseId}`);
      assert.ok(e.reference.length > 0 && e.why.length > 0);
      // The tunnel's source identity is in the peer both sides are told, not a mark on a verdict.
      if (!e.id || e.id === "tunnel-source-identity") return;
      const v = new PolicyEngine(policiesOf(c), c.topology, c.options).evaluate(c.flow);
      assert.equal(v[e.direction].datapathEffect, e.id, JSON.stringify(v[e.direction]));
    });
  }
});
