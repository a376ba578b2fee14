// Where the verifier's inputs come from: objects (objects.ts), or a stack of this project rendered
// offline under Pulumi mocks.

import { loadStackConfig, recordCastle, renderedObjects } from "../lib/offline/render";
import { CastleInputs, fromObjects } from "./objects";

export * from "./objects";

/** A stack, rendered offline with its config file. */
export async function fromStack(stack: string): Promise<CastleInputs> {
  const rec = await recordCastle(loadStackConfig(stack), stack);
  return fromObjects(
    renderedObjects(rec).map((o) => o.object),
    `stack ${stack}`,
  );
}
