// The reusable test harness: build a stack from a config object under mocks and query what it recorded.

import * as path from "path";
import { parseCastleConfig, RawConfig } from "../config/castleConfig";
import { recordCastle, withProjectDefaults, readStackFile } from "../render/render";
import type { Recording, RecordedResource } from "../render/recorder";

export type { Recording, RecordedResource };

/** ../shared, or wherever CASTLE_SHARED_DIR points. */
export const SHARED_DIR = process.env.CASTLE_SHARED_DIR ?? path.resolve(__dirname, "..", "..", "shared");
export const shared = (...p: string[]): string => path.join(SHARED_DIR, ...p);

/** Builds the castle from raw config values (as a stack file holds them), under mocks. */
export async function buildStack(raw: RawConfig, stack = "test"): Promise<Recording> {
  return recordCastle(parseCastleConfig(withProjectDefaults(raw)), stack);
}

export function devRawConfig(): RawConfig {
  return readStackFile("dev");
}

export function one(rec: Recording, pred: (r: RecordedResource) => boolean, what: string): RecordedResource {
  const found = rec.resources.filter(pred);
  if (found.length !== 1) throw new Error(`expected exactly one ${what}, found ${found.length}`);
  return found[0];
}

export const byTypeName =
  (type: string, name: string) =>
  (r: RecordedResource): boolean =>
    r.type === type && r.name === name;

/** Every ancestor of a resource, nearest first. */
export function ancestors(rec: Recording, r: RecordedResource): RecordedResource[] {
  const out: RecordedResource[] = [];
  let cur = r.parent ? rec.byUrn(r.parent) : undefined;
  while (cur) {
    out.push(cur);
    cur = cur.parent ? rec.byUrn(cur.parent) : undefined;
  }
  return out;
}
