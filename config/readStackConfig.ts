import * as pulumi from "@pulumi/pulumi";
import { PROJECT, RawConfig } from "./castleConfig";

// The SDK knows which keys the CLI marked secret (PULUMI_CONFIG_SECRET_KEYS) but does not export the
// check in its typings (@pulumi/pulumi runtime/config.js: isConfigSecret).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };

export interface StackConfig {
  raw: RawConfig;
  /** Keys (without the namespace) whose values were set with --secret: never shown in a message. */
  secretKeys: Set<string>;
}

/**
 * The stack's config as the CLI hands it to the program: every key of this project's namespace, as text,
 * and which of them are secret.
 */
export function readStackConfig(): StackConfig {
  const raw: RawConfig = {};
  const secretKeys = new Set<string>();
  const prefix = `${PROJECT}:`;
  for (const [k, v] of Object.entries(pulumi.runtime.allConfig())) {
    if (!k.startsWith(prefix)) continue;
    const key = k.slice(prefix.length);
    raw[key] = v;
    if (runtimeConfig.isConfigSecret?.(k)) secretKeys.add(key);
  }
  return { raw, secretKeys };
}
