import { strict as assert } from "assert";
import * as os from "os";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import {
  CastleConfigError,
  CONFIG_KEYS,
  DEFAULTS,
  parseCastleConfig,
  RawConfig,
} from "../config/castleConfig";
import {
  PROJECT_DIR,
  readProjectFile,
  readStackFile,
  recordCastle,
  withProjectDefaults,
} from "../render/render";
import { buildStack, devRawConfig } from "./harness";
import { problemsOf } from "./harness";

function assertOneProblem(raw: RawConfig, ...parts: (string | RegExp)[]): void {
  const problems = problemsOf(raw);
  assert.equal(problems.length, 1, `expected one problem, got:\n${problems.join("\n")}`);
  for (const p of parts) {
    if (typeof p === "string") assert.ok(problems[0].includes(p), `"${problems[0]}" should contain "${p}"`);
    else assert.match(problems[0], p);
  }
}

describe("config: defaults", () => {
  it("an empty stack gets the documented defaults", () => {
    const c = parseCastleConfig({});
    assert.equal(c.clusterName, "castle");
    assert.equal(c.clusterProvider, "kind");
    assert.deepEqual(c.kindNodes, { controlPlane: 1, infra: 1, workers: 2 });
    assert.equal(c.ciliumVersion, "1.19.5");
    assert.equal(c.policyAuditMode, true);
    assert.deepEqual(c.jumphostCidrs, []);
    assert.deepEqual(c.userNamespaces, []);
    assert.equal(c.installDemo, false);
    assert.equal(c.kubeconfig, undefined);
  });

  it("Pulumi.yaml declares every key with the same default as the code, and nothing else", () => {
    const project = readProjectFile();
    assert.equal(project.name, "cilium-castle");
    assert.deepEqual(Object.keys(project.config).sort(), [...CONFIG_KEYS].sort());
    for (const key of CONFIG_KEYS) {
      const decl = project.config[key];
      assert.deepEqual(decl.default, DEFAULTS[key], `default of ${key}`);
      assert.ok(decl.description && decl.description.length > 20, `${key} needs a description`);
    }
  });

  it("Pulumi.yaml types are ones the CLI accepts and match the code's value types", () => {
    const project = readProjectFile();
    for (const [key, decl] of Object.entries(project.config)) {
      const value = DEFAULTS[key as keyof typeof DEFAULTS];
      if (decl.type === undefined) {
        // Objects and arrays of objects cannot be typed in a project file; the program validates them.
        assert.equal(typeof value, "object", `${key} is untyped, so it must be structured`);
        continue;
      }
      assert.ok(["string", "integer", "boolean", "array"].includes(decl.type), `${key}: type ${decl.type}`);
      const expected = Array.isArray(value) ? "array" : typeof value === "number" ? "integer" : typeof value;
      assert.equal(decl.type, expected, `${key}: declared ${decl.type}, code default is ${expected}`);
      if (decl.type === "array") assert.deepEqual(decl.items, { type: "string" }, `${key} items`);
    }
  });

  it("every stack file only sets keys the project declares", () => {
    const declared = Object.keys(readProjectFile().config);
    for (const f of fs.readdirSync(PROJECT_DIR).filter((x) => /^Pulumi\..+\.yaml$/.test(x))) {
      const stack = /^Pulumi\.(.+)\.yaml$/.exec(f)![1];
      for (const k of Object.keys(readStackFile(stack)))
        assert.ok(declared.includes(k), `${f}: ${k} is not declared in Pulumi.yaml`);
    }
  });

  it("the CLI's project defaults and the code's defaults build the same stack", async () => {
    const viaCli = await buildStack({});
    const viaCode = await recordCastle(parseCastleConfig({}), "test");
    assert.deepEqual(
      viaCli.resources.map((r) => [r.urn, r.maskedInputs]),
      viaCode.resources.map((r) => [r.urn, r.maskedInputs]),
    );
  });

  it("structured values arrive from the CLI as JSON text and parse the same as YAML values", () => {
    const fromYaml = parseCastleConfig(withProjectDefaults(devRawConfig()));
    const asCli = Object.fromEntries(
      Object.entries(withProjectDefaults(devRawConfig())).map(([k, v]) => [
        k,
        typeof v === "string" ? v : JSON.stringify(v),
      ]),
    );
    assert.deepEqual(parseCastleConfig(asCli), fromYaml);
  });
});

describe("config: the dev stack", () => {
  it("is a 1+1+2 kind cluster in audit mode with the talk's jumphost and two user namespaces", () => {
    const doc = YAML.parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8"));
    assert.ok(doc.config, "Pulumi.dev.yaml has a config block");
    const c = parseCastleConfig(withProjectDefaults(devRawConfig()));
    assert.equal(c.clusterProvider, "kind");
    assert.deepEqual(c.kindNodes, { controlPlane: 1, infra: 1, workers: 2 });
    assert.equal(c.policyAuditMode, true);
    assert.deepEqual(c.jumphostCidrs, ["10.1.101.110/32"]);
    assert.equal(c.userNamespaces.length, 2);
    assert.equal(c.installDemo, true);
  });
});

describe("config: bad input is refused with key, value and fix", () => {
  it("a malformed CIDR", () => {
    assertOneProblem(
      { jumphostCidrs: ["10.1.101.110/33"] },
      "jumphostCidrs[0]",
      '"10.1.101.110/33"',
      "prefix length 33",
      "Fix:",
    );
    assertOneProblem({ jumphostCidrs: ["10.1.101/32"] }, "jumphostCidrs[0]", "not an IPv4 or IPv6 address");
    assertOneProblem(
      { jumphostCidrs: ["jumphost"] },
      "jumphostCidrs[0]",
      "expected <address>/<prefix length>",
    );
  });

  it("0.0.0.0/0 (or any /0) as a jumphost", () => {
    assertOneProblem(
      { jumphostCidrs: ["0.0.0.0/0"] },
      "jumphostCidrs[0]",
      '"0.0.0.0/0"',
      "whole internet",
      "10.1.101.110/32",
    );
    assertOneProblem({ jumphostCidrs: ["::/0"] }, "jumphostCidrs[0]", "whole internet");
  });

  it("a CIDR with host bits set gets its canonical form as the fix", () => {
    assertOneProblem({ jumphostCidrs: ["10.1.101.110/24"] }, "host bits", "write it as 10.1.101.0/24");
  });

  it("zero or negative node counts", () => {
    assertOneProblem(
      { kindNodes: { controlPlane: 1, infra: 0, workers: 2 } },
      "kindNodes.infra",
      "= 0",
      "at least 1",
      "--path kindNodes.infra 1",
    );
    assertOneProblem({ kindNodes: { workers: -1 } }, "kindNodes.workers", "= -1", "at least 1");
    assertOneProblem({ kindNodes: { controlPlane: 0 } }, "kindNodes.controlPlane", "at least 1");
    assertOneProblem({ kindNodes: { workers: 1.5 } }, "kindNodes.workers", "whole number");
  });

  it("a namespace name that is not RFC 1123", () => {
    assertOneProblem(
      { userNamespaces: [{ name: "Team_A" }] },
      "userNamespaces[0].name",
      '"Team_A"',
      "RFC 1123",
      '"team-a"',
    );
    assertOneProblem(
      { userNamespaces: [{ name: "a".repeat(64) }] },
      "userNamespaces[0].name",
      "63 characters",
    );
  });

  it("a duplicate namespace", () => {
    assertOneProblem(
      { userNamespaces: [{ name: "team-a" }, { name: "team-a", exposed: true }] },
      "userNamespaces[1].name",
      "listed twice",
    );
  });

  it("a reserved namespace", () => {
    for (const name of ["kube-system", "kube-public", "default"]) {
      assertOneProblem({ userNamespaces: [{ name }] }, "userNamespaces[0].name", `"${name}" is reserved`);
    }
  });

  it("an infrastructure namespace", () => {
    assertOneProblem(
      { userNamespaces: [{ name: "monitoring" }] },
      "userNamespaces[0].name",
      "infrastructure namespace",
    );
  });

  it("an unknown key inside an object", () => {
    assertOneProblem(
      { kindNodes: { controlPlane: 1, infra: 1, worker: 2 } },
      "kindNodes.worker",
      'unknown key "worker"',
      "controlPlane, infra, workers",
    );
    assertOneProblem(
      { userNamespaces: [{ name: "team-a", expose: true }] },
      "userNamespaces[0].expose",
      'unknown key "expose"',
    );
  });

  it("an unknown top-level key", () => {
    assertOneProblem(
      { jumphostCidr: ["10.0.0.1/32"] },
      "cilium-castle:jumphostCidr",
      "unknown config key",
      "pulumi config rm jumphostCidr",
    );
  });

  it("a wrong type", () => {
    assertOneProblem({ policyAuditMode: "yes" }, "policyAuditMode", "expected a boolean, got a string");
    assertOneProblem({ jumphostCidrs: "10.1.101.110/32" }, "jumphostCidrs", "expected an array of strings");
    assertOneProblem({ kindNodes: [1, 1, 2] }, "kindNodes", "expected an object");
    assertOneProblem(
      { userNamespaces: [{ name: "team-a", exposed: "yes" }] },
      "userNamespaces[0].exposed",
      "expected a boolean",
    );
    assertOneProblem({ clusterName: 7 }, "clusterName", "expected a string, got a number");
    assertOneProblem({ ciliumValues: ["hostFirewall"] }, "ciliumValues", "expected an object of Helm values");
  });

  it("fix commands are ones the Pulumi CLI runs: --path inside structured values, --secret for secrets", () => {
    // Without --path the CLI would store a new top-level key named `userNamespaces[0].exposed`.
    assertOneProblem(
      { userNamespaces: [{ name: "team-a", exposed: "yes" }] },
      "Fix: pulumi config set --path 'userNamespaces[0].exposed' true (or false)",
    );
    assertOneProblem({ policyAuditMode: "yes" }, "Fix: pulumi config set policyAuditMode true (or false)");
    assertOneProblem(
      { clusterProvider: "existing", kubeconfig: 42 },
      "kubeconfig = [secret]",
      "Fix: pulumi config set --secret kubeconfig < ~/.kube/config",
    );
    // A path set cannot index into a value of another type, so the wrong value goes first.
    assertOneProblem(
      { jumphostCidrs: 22 },
      "Fix: pulumi config rm jumphostCidrs, then pulumi config set --path 'jumphostCidrs[0]' 10.1.101.110/32",
    );
    assertOneProblem(
      { kindNodes: [1, 1, 2] },
      "Fix: pulumi config rm kindNodes, then pulumi config set --path kindNodes.workers 2",
    );
    assertOneProblem(
      { userNamespaces: [{ name: "team-a", expose: true }] },
      "Fix: pulumi config rm --path 'userNamespaces[0].expose', or correct its spelling",
    );
    assertOneProblem({ clusterProvider: "eks" }, "Fix: pulumi config set clusterProvider kind");
  });

  it("an unsupported clusterProvider, cluster name and Cilium version", () => {
    assertOneProblem({ clusterProvider: "eks" }, "clusterProvider", '"kind" or "existing"');
    assertOneProblem({ clusterName: "My Castle" }, "clusterName", "lower-case");
    assertOneProblem({ ciliumVersion: "1.14.1" }, "ciliumVersion", "1.16 or newer");
    assertOneProblem({ ciliumVersion: "latest" }, "ciliumVersion", "chart version");
  });

  it("an unpinned node image", () => {
    assertOneProblem({ kindNodeImage: "kindest/node" }, "kindNodeImage", "image reference");
  });

  it("a kubeconfig on a kind stack", () => {
    assertOneProblem(
      { kubeconfig: { secure: "v1:abc" } },
      "kubeconfig",
      "[secret]",
      'clusterProvider "existing"',
    );
  });

  it("reports every problem at once", () => {
    const problems = problemsOf({
      jumphostCidrs: ["0.0.0.0/0"],
      kindNodes: { workers: 0 },
      policyAuditMode: "on",
    });
    assert.equal(problems.length, 3);
  });

  it("fails before any resource is registered", async () => {
    let registered = -1;
    await assert.rejects(
      (async () => {
        const rec = await buildStack({ jumphostCidrs: ["0.0.0.0/0"] });
        registered = rec.resources.length;
      })(),
      (e: unknown) => e instanceof CastleConfigError,
    );
    assert.equal(registered, -1);
  });
});

describe("config: chart mirror", () => {
  const sharedCharts = (): string => {
    // One folder with the Cilium archive and the demo's, as a mirror would hold them.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "castle-mirror-"));
    for (const f of [
      "cilium-1.19.5.tgz",
      "ingress-nginx-4.15.1.tgz",
      "prometheus-27.42.2.tgz",
      "metrics-server-3.13.0.tgz",
    ]) {
      fs.writeFileSync(path.join(dir, f), "");
    }
    return dir;
  };

  it("takes an absolute folder, oci:// and http(s):// and defaults to the public repositories", () => {
    const dir = sharedCharts();
    assert.deepEqual(parseCastleConfig({ chartMirror: dir, installDemo: true }).chartMirror, {
      kind: "folder",
      path: dir,
    });
    assert.deepEqual(parseCastleConfig({ chartMirror: "oci://registry.corp:5000/charts/" }).chartMirror, {
      kind: "oci",
      url: "oci://registry.corp:5000/charts",
    });
    assert.deepEqual(parseCastleConfig({ chartMirror: "https://charts.corp/helm" }).chartMirror, {
      kind: "http",
      url: "https://charts.corp/helm",
    });
    assert.equal(parseCastleConfig({}).chartMirror, undefined);
  });

  it("a relative folder, a missing folder, credentials in a URL and a bad OCI path are refused", () => {
    assertOneProblem({ chartMirror: "charts" }, "chartMirror", "absolute path", `realpath charts`);
    assertOneProblem({ chartMirror: "/nonexistent/charts" }, "chartMirror", "no such folder");
    assertOneProblem(
      { chartMirror: "https://user:pw@charts.corp/" },
      "chartMirror",
      "credentials in the URL would be stored in the stack file in clear text",
    );
    assertOneProblem({ chartMirror: "oci://" }, "chartMirror", "not an OCI registry path");
  });

  it("a folder without the archives the stack installs names each missing one", () => {
    const dir = sharedCharts();
    fs.rmSync(path.join(dir, "prometheus-27.42.2.tgz"));
    parseCastleConfig({ chartMirror: dir }); // without the demo, only Cilium is needed
    assertOneProblem(
      { chartMirror: dir, installDemo: true },
      "chartMirror",
      "the folder lacks prometheus-27.42.2.tgz",
      "helm pull",
    );
    assertOneProblem({ chartMirror: dir, ciliumVersion: "1.20.0" }, "the folder lacks cilium-1.20.0.tgz");
  });
});

describe("config: demo chart values", () => {
  it("are objects keyed by demo release", () => {
    assert.deepEqual(
      parseCastleConfig({
        demoChartValues: { "ingress-nginx": { controller: { admissionWebhooks: { enabled: false } } } },
      }).demoChartValues,
      { "ingress-nginx": { controller: { admissionWebhooks: { enabled: false } } } },
    );
    assertOneProblem(
      { demoChartValues: { traefik: {} } },
      "demoChartValues.traefik",
      'unknown key "traefik"',
    );
    assertOneProblem(
      { demoChartValues: { prometheus: "x" } },
      "demoChartValues.prometheus",
      "expected an object",
    );
  });
});

describe("config: secrets never show in a message", () => {
  const KUBECONFIG = "apiVersion: v1\nkind: Config\nusers: [{name: admin, user: {token: s3cr3t}}]\n";

  it("a value set with --secret under a misspelled key is masked", () => {
    const problems = problemsOf({ kubeconfg: KUBECONFIG } as RawConfig);
    assert.ok(problems[0]!.includes("s3cr3t"), "without the secret mark the value shows, as for any key");
    let masked: string[] = [];
    try {
      parseCastleConfig({ kubeconfg: KUBECONFIG } as RawConfig, new Set(["kubeconfg"]));
    } catch (e) {
      masked = (e as CastleConfigError).problems;
    }
    assert.equal(masked.length, 1);
    assert.match(masked[0]!, /^cilium-castle:kubeconfg = \[secret\]: unknown config key/);
    assert.ok(!masked.join("\n").includes("s3cr3t"));
  });

  it("a secret nested value and an encrypted stack-file value are masked", () => {
    let masked: string[] = [];
    try {
      parseCastleConfig({ kindNodes: { workers: "s3cr3t" } }, new Set(["kindNodes"]));
    } catch (e) {
      masked = (e as CastleConfigError).problems;
    }
    assert.match(masked[0]!, /^cilium-castle:kindNodes\.workers = \[secret\]: expected a whole number/);
    assertOneProblem({ kubeconfg: { secure: "v1:abc" } } as RawConfig, /kubeconfg = \[secret\]/);
  });
});
