import { strict as assert } from "assert";
import * as YAML from "yaml";
import { CiliumPolicyObject, PolicyEngine, PolicyRef, Verdict } from "../../verifier/engine";
import { CASES, ConformanceCase } from "./cases";

function loadPolicies(items: ConformanceCase["policies"]): CiliumPolicyObject[] {
  const out: CiliumPolicyObject[] = [];
  for (const item of items) {
    if (typeof item !== "string") {
      out.push(item);
      continue;
    }
    for (const doc of YAML.parseAllDocuments(item)) {
      if (doc.errors.length > 0) throw new Error(`bad YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
      const value = doc.toJS() as CiliumPolicyObject | null;
      if (value) out.push(value);
    }
  }
  return out;
}

const refName = (r: PolicyRef): string => (r.namespace ? `${r.namespace}/${r.name}` : r.name);
const names = (refs: PolicyRef[]): string[] => [...new Set(refs.map(refName))].sort();

function explain(v: Verdict): string {
  return JSON.stringify(v, null, 2);
}

describe("verifier: conformance table", () => {
  it("has at least 60 cases with unique ids and a source each", () => {
    assert.ok(CASES.length >= 60, `only ${CASES.length} cases`);
    const ids = new Set<string>();
    for (const c of CASES) {
      assert.ok(!ids.has(c.id), `duplicate id ${c.id}`);
      ids.add(c.id);
      assert.match(
        c.source,
        /^(cilium-docs https:\/\/docs\.cilium\.io\/\S+|semantics|talk)$/,
        `${c.id}: bad source`,
      );
    }
  });

  it("draws from the docs, the semantics and the talk", () => {
    const by = (p: RegExp): number => CASES.filter((c) => p.test(c.source)).length;
    assert.ok(by(/^cilium-docs /) >= 20);
    assert.ok(by(/^semantics$/) >= 20);
    assert.ok(by(/^talk$/) >= 10);
  });

  for (const c of CASES) {
    it(`${c.id}: ${c.description}`, () => {
      const engine = new PolicyEngine(loadPolicies(c.policies), c.topology, c.options);
      assert.deepEqual(
        engine.rejected.map((r) => refName(r.ref)).sort(),
        [...(c.expected.rejected ?? [])].sort(),
        `rejected policies: ${engine.warnings.join("; ")}`,
      );
      const v = engine.evaluate(c.flow);
      const ctx = `\n${explain(v)}`;
      assert.equal(v.verdict, c.expected.verdict, `verdict${ctx}`);
      if (c.expected.decidedBy) assert.deepEqual(v.decidedBy, c.expected.decidedBy, `decidedBy${ctx}`);
      assert.deepEqual(
        names([...v.egress.allowedBy, ...v.ingress.allowedBy]),
        [...(c.expected.allowedBy ?? [])].sort(),
        `allowedBy${ctx}`,
      );
      assert.deepEqual(
        names([...v.egress.deniedBy, ...v.ingress.deniedBy]),
        [...(c.expected.deniedBy ?? [])].sort(),
        `deniedBy${ctx}`,
      );
      if (c.expected.enforcedBy) {
        assert.deepEqual(
          names([...v.egress.enforcedBy, ...v.ingress.enforcedBy]),
          [...c.expected.enforcedBy].sort(),
          `enforcedBy${ctx}`,
        );
      }
      assert.equal(v.proxied ?? null, c.expected.proxied ?? null, `proxied${ctx}`);
      if (c.expected.reason) {
        const reasons = (v.decidedBy.length ? v.decidedBy : (["egress", "ingress"] as const)).map(
          (d) => v[d].reason,
        );
        assert.ok(
          reasons.some((r) => r.includes(c.expected.reason as string)),
          `reason should mention "${c.expected.reason}"${ctx}`,
        );
      }
    });
  }
});
