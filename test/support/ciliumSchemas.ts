// Schema validation of Cilium policy objects, the two ways the cluster would see them: the strict CRD
// JSON Schemas in ../shared and @kubernetes-models/cilium's validate() (ESM-only: loaded with import()).

import * as fs from "fs";
import Ajv, { Options, ValidateFunction } from "ajv";

type RegExpEngine = NonNullable<NonNullable<Options["code"]>["regExp"]>;
import { shared } from "../harness";
import { parseCidr } from "../../lib/net/cidr";

// The CRD schemas carry Go regular expressions: Go writes Unicode classes as \pL or \PC, JavaScript as
// \p{L} or \P{C} (with the u flag).
function goRegExp(pattern: string, flags: string): RegExp {
  return new RegExp(
    pattern.replace(/\\([pP])([A-Z])/g, "\\$1{$2}"),
    flags.includes("u") ? flags : flags + "u",
  );
}

let validators: Record<string, ValidateFunction> | undefined;

function strictSchemas(): Record<string, ValidateFunction> {
  if (!validators) {
    const ajv = new Ajv({
      strict: false,
      allErrors: true,
      code: { regExp: goRegExp as unknown as RegExpEngine },
    });
    // Kubernetes' OpenAPI formats, as the API server checks them.
    ajv.addFormat("cidr", (v: string) => parseCidr(v).ok);
    ajv.addFormat("int32", {
      type: "number",
      validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
    });
    ajv.addFormat("idn-hostname", (v: string) => v.length > 0 && v.length <= 253);
    ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
    ajv.addFormat("date-time", (v: string) => !Number.isNaN(Date.parse(v)));
    const load = (f: string): ValidateFunction =>
      ajv.compile(JSON.parse(fs.readFileSync(shared("cilium", "crd-jsonschema-1.18.2", f), "utf8")));
    validators = {
      CiliumNetworkPolicy: load("ciliumnetworkpolicy_v2.json"),
      CiliumClusterwideNetworkPolicy: load("ciliumclusterwidenetworkpolicy_v2.json"),
    };
  }
  return validators;
}

/** Errors of the strict CRD schema for a CNP/CCNP object; empty when valid. */
export function crdSchemaErrors(obj: { kind: string }): string[] {
  const v = strictSchemas()[obj.kind];
  if (!v) return [`no schema for kind ${obj.kind}`];
  return v(obj)
    ? []
    : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

/** Errors of @kubernetes-models/cilium's validate(): the policy pack's own check. */
export { crdSchemaErrors as modelErrors } from "../../verifier/crdSchema";
