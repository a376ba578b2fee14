#!/usr/bin/env node
// A `docker` for kind v0.33.0's docker provider with no engine behind it. It answers the queries kind makes
// before it creates node containers (pkg/cluster/internal/providers/docker: util.go IsAvailable and info,
// network.go ensureNetwork, images.go pullIfNotPresent, provision.go getSubnets) and refuses `docker run`,
// recording every call in $CASTLE_FAKE_DOCKER_LOG (one JSON argv per line). So kind's own code parses,
// defaults and validates a cluster config (create.go: fixupOptions, Validate) and plans the node
// containers (provision.go: planCreation), and the real tier reads the plan from the recorded `run`s.
"use strict";
const fs = require("node:fs");

const args = process.argv.slice(2);
if (process.env.CASTLE_FAKE_DOCKER_LOG) {
  fs.appendFileSync(process.env.CASTLE_FAKE_DOCKER_LOG, JSON.stringify(args) + "\n");
}
const out = (s) => process.stdout.write(s + "\n");
const has = (s) => args.some((a) => a.includes(s));

switch (args[0]) {
  case "-v":
    out("Docker version 28.2.2, build e6534b4");
    break;
  case "info":
    if (has("{{json .}}")) {
      out(
        JSON.stringify({
          CgroupDriver: "systemd",
          CgroupVersion: "2",
          MemoryLimit: true,
          PidsLimit: true,
          CPUShares: true,
          SecurityOptions: ["name=seccomp,profile=builtin", "name=cgroupns"],
        }),
      );
    } else if (has("SecurityOptions")) {
      out(`'${JSON.stringify(["name=seccomp,profile=builtin", "name=cgroupns"])}'`);
    } else if (has("DriverStatus")) {
      out("[]");
    } else if (has(".Driver")) {
      out("overlay2");
    }
    break;
  case "ps":
    break; // no containers: no kind cluster exists in this engine
  case "inspect":
    break; // `inspect --type=image`: present, so kind does not pull
  case "network":
    if (args[1] === "ls") out(has("{{.Name}}") ? "kind" : "castlefakenet");
    else if (args[1] === "inspect" && has("-f")) out("172.18.0.0/16 fc00:f853:ccd:e793::/64 ");
    else if (args[1] === "inspect") out(JSON.stringify([{ Id: "castlefakenet", Containers: {} }]));
    break;
  case "run":
    // kind starts every node's `docker run` at once and returns at the first failure
    // (errors.UntilErrorConcurrent): failing late lets each sibling record its run first.
    process.stderr.write("castle fake docker: no container engine in the real tier; the run was recorded\n");
    setTimeout(() => process.exit(125), 1500);
    break;
  default:
    break;
}
