// `castle replay`: run real Hubble flows (`hubble observe -o json`) through the stack's policies and report
// what enforcement would drop, grouped by who talks to whom on which port, with the layer that should
// allow it and a suggested rule. One concern per file, as in Cilium's pkg/policy:
//
//   types.ts      the options and the report every part and importer speaks
//   input.ts      the capture: gzip detection, line splitting, refusing what is not Hubble output
//   endpoints.ts  Hubble endpoints and nodes onto the castle's model (pods, hosts, world, layers)
//   replayer.ts   the evaluation: each flow judged by the engine, as if enforced
//   aggregate.ts  the totals and the would-drop groups
//   suggest.ts    the rule suggested per group
//   format.ts     the report as a table, Markdown or JSON
//
// This file is the folder's public face: importers write `from "../verifier/replay"`.

export type {
  ReplayFormat,
  ReplayGroup,
  ReplayLayer,
  ReplayNodeMapping,
  ReplayOptions,
  ReplayReport,
  ReplaySuggestion,
  ReplayTotals,
} from "./types";
export { checkReplayInput, gunzipIfNeeded, readLines, ReplayInputError } from "./input";
export { KIND_CLUSTER_CIDRS, ReplayNodeMapError } from "./endpoints";
export { PROGRESS_EVERY, replay, Replayer, replayLines } from "./replayer";
export { formatReplay } from "./format";
