// Entry point for `pulumi up`: read and validate the stack config before any resource exists, then build.
import * as pulumi from "@pulumi/pulumi";
import { CastleConfigError, parseCastleConfig } from "./config/castleConfig";
import { readStackConfig } from "./config/readStackConfig";
import { buildCastle } from "./castle";

function config(): ReturnType<typeof parseCastleConfig> {
  const { raw, secretKeys } = readStackConfig();
  try {
    return parseCastleConfig(raw, secretKeys);
  } catch (e) {
    // A user's mistake: the CLI prints a RunError's message alone, without the program's stack trace
    // (@pulumi/pulumi errors.ts: RunError).
    if (e instanceof CastleConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

const castle = buildCastle(config());

export = castle.outputs;
