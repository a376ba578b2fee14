// Key paths of a chart's values.yaml, including keys the chart documents only as comments
// (`# policyAuditMode: false`): the templates read those with hasKey, so they exist.

import * as fs from "fs";
import * as YAML from "yaml";

export interface ChartValues {
  has(path: string): boolean;
}

export function loadChartValues(file: string): ChartValues {
  const text = fs.readFileSync(file, "utf8");
  const doc = YAML.parse(text) as Record<string, unknown>;
  const lines = text.split("\n");
  return {
    has(path: string): boolean {
      const parts = path.split(".");
      let cur: unknown = doc;
      for (let i = 0; i < parts.length; i++) {
        if (typeof cur !== "object" || cur === null || Array.isArray(cur)) return false;
        const obj = cur as Record<string, unknown>;
        if (Object.keys(obj).length === 0 && i > 0) return true; // a free-form map such as podLabels: {}
        if (!(parts[i] in obj))
          return commentedKey(lines, parts.slice(0, i), parts[i]) && i === parts.length - 1;
        cur = obj[parts[i]];
      }
      return true;
    },
  };
}

/** A `# key:` comment at the indentation of `parent`'s children, inside `parent`'s block. */
function commentedKey(lines: string[], parent: string[], key: string): boolean {
  const indent = " ".repeat(parent.length * 2);
  const pattern = new RegExp(`^${indent}# ${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:( |$)`);
  let depth = 0;
  let inside = parent.length === 0;
  for (const line of lines) {
    if (!inside) {
      const m = new RegExp(`^${" ".repeat(depth * 2)}${parent[depth]}:\\s*$`).test(line);
      if (m) {
        depth++;
        inside = depth === parent.length;
      }
      continue;
    }
    if (
      parent.length > 0 &&
      /^\S/.test(line.slice(0, parent.length * 2 - 1)) &&
      line.trim() !== "" &&
      !line.startsWith(indent)
    ) {
      return false; // left the parent's block
    }
    if (pattern.test(line)) return true;
  }
  return false;
}
