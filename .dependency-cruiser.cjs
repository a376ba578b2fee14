// The castle's layers, bottom first. A folder imports only the layers below it (and itself); `npm run lint`
// fails on an upward import. test/lint/boundaries.e2e.ts shows it failing on one.
//
//   vocabulary   labels, ports, infra roles as data: the words every layer shares
//   lib          helpers with no castle semantics: CIDRs, Cilium policy objects, Helm, Pulumi placement
//   config       the stack config: schema, validation, the castle model written into the cluster
//   engine       verifier/engine: the only reading of Cilium's policy semantics
//   verifier     what the castle command computes: topology, matrix, why, check, diff, replay
//   components   the Pulumi component resources
//   program      castle.ts, index.ts: the stack
//   policypack   the CrossGuard pack (asks the engine, never the components)
//   render       renders a stack offline under Pulumi mocks
//   cli          the castle command: parses arguments, loads renders, prints
//   scripts      npm run scripts and benchmarks
//   test         tests and their support
const LAYERS = [
  ["vocabulary", "^vocabulary/"],
  ["lib", "^lib/"],
  ["config", "^config/"],
  ["engine", "^verifier/engine/"],
  ["verifier", "^verifier/(?!engine/)"],
  ["components", "^components/"],
  ["program", "^(castle|index)\\.ts$"],
  ["policypack", "^policypack/(?!node_modules/)"],
  ["render", "^render/"],
  ["cli", "^cli/"],
  ["scripts", "^scripts/"],
  ["test", "^test/"],
];

// Which layers each layer may import besides itself. Peers on one rank (config and engine; verifier and
// components; program and policypack) do not import each other.
const MAY_IMPORT = {
  vocabulary: [],
  lib: ["vocabulary"],
  config: ["vocabulary", "lib"],
  engine: ["vocabulary", "lib"],
  verifier: ["vocabulary", "lib", "config", "engine"],
  components: ["vocabulary", "lib", "config", "engine"],
  program: ["vocabulary", "lib", "config", "engine", "components"],
  policypack: ["vocabulary", "lib", "config", "engine", "verifier"],
  render: ["vocabulary", "lib", "config", "engine", "verifier", "components", "program"],
  cli: ["vocabulary", "lib", "config", "engine", "verifier", "components", "program", "render"],
  scripts: [
    "vocabulary",
    "lib",
    "config",
    "engine",
    "verifier",
    "components",
    "program",
    "policypack",
    "render",
    "cli",
  ],
  test: LAYERS.map(([name]) => name),
};

const pathOf = Object.fromEntries(LAYERS);
const any = (names) => `(${names.map((n) => pathOf[n]).join("|")})`;

module.exports = {
  forbidden: [
    ...LAYERS.filter(([name]) => name !== "test").map(([name, path]) => ({
      name: `${name}-imports-upward`,
      comment: `${name} may import only ${MAY_IMPORT[name].join(", ") || "itself"}: move the shared part down a layer`,
      severity: "error",
      from: { path },
      to: {
        path: any(LAYERS.map(([n]) => n)),
        pathNot: any([name, ...MAY_IMPORT[name]]),
      },
    })),
    {
      name: "no-circular",
      comment: "modules that import each other cannot be understood (or tested) one at a time",
      severity: "error",
      from: { pathNot: "node_modules" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|dist|tools)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
