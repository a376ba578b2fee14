// What the user must know before reading a verdict: policies the agent refuses (they take no effect, so
// every verdict is computed without them) and fields the engine reads past. `why`, `check`, `matrix` and
// `replay` print these first; nothing is skipped silently.

import { PolicyEngine } from "./engine";
import type { CastleInputs } from "./objects";

export function policyWarnings(inputs: CastleInputs): string[] {
  return new PolicyEngine(inputs.policies, inputs.topology, {
    hostFirewall: inputs.hostFirewall,
    routingMode: inputs.routingMode,
    mutualAuth: inputs.mutualAuth,
    ciliumVersion: inputs.ciliumVersion,
  }).warnings;
}
