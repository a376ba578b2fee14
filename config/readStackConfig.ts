import * as pulumi from "@pulumi/pulumi";
import { PROJECT, RawConfig } from "./castleConfig";

/**
 * The stack's config as the CLI hands it to the program: every key of this project's namespace, as text.
 * The kubeconfig comes through getSecret so that the SDK keeps it marked secret.
 */
export function readStackConfig(): RawConfig {
  const raw: RawConfig = {};
  const prefix = `${PROJECT}:`;
  for (const [k, v] of Object.entries(pulumi.runtime.allConfig())) {
    if (k.startsWith(prefix)) raw[k.slice(prefix.length)] = v;
  }
  return raw;
}
