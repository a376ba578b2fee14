// DNS name matching for toFQDNs selectors and DNS L7 rules (matchName / matchPattern).
//
// pkg/fqdn/matchpattern/matchpattern.go (ToAnchoredRegexp, Sanitize) and
// https://docs.cilium.io/en/stable/security/policy/language/#dns-based :
//   - names and patterns are compared lower-cased as FQDNs (trailing dot added);
//   - a pattern made only of "*" (optionally followed by ".") matches every name;
//   - "*" inside a pattern matches 0 or more DNS characters [-a-zA-Z0-9_] but never ".":
//     "*.cilium.io" matches "sub.cilium.io", not "cilium.io" nor "sub.sub.cilium.io";
//   - a leading "**." matches one or more whole labels: "**.cilium.io" matches "app.cilium.io" and
//     "test.app.cilium.io" but not "cilium.io".

import type { FQDNSelector } from "./types";

const DNS_CHARS = "[-a-zA-Z0-9_]";
const MULTI_LABEL = `(${DNS_CHARS}+([.]${DNS_CHARS}+){0,})[.]`;

/** Lower-case FQDN with exactly one trailing dot. */
export function toFqdn(name: string): string {
  const n = name.trim().toLowerCase();
  return n.endsWith(".") ? n : `${n}.`;
}

function isDnsWildcard(pattern: string): boolean {
  const p = pattern.endsWith(".") ? pattern.slice(0, -1) : pattern;
  return p.length > 0 && /^\*+$/.test(p);
}

export function patternToRegExp(pattern: string): RegExp {
  const p = pattern.trim().toLowerCase();
  if (isDnsWildcard(p)) return new RegExp(`^((${DNS_CHARS}+[.])+|[.])$`);
  const fq = toFqdn(p);
  let out = "";
  let i = 0;
  const leading = /^\*{2,}\./.exec(fq);
  if (leading) {
    out += MULTI_LABEL;
    i = leading[0].length;
  }
  for (; i < fq.length; i++) {
    const c = fq[i];
    if (c === ".") out += "[.]";
    else if (c === "*") {
      while (fq[i + 1] === "*") i++;
      out += `${DNS_CHARS}*`;
    } else out += c.replace(/[\\^$+?()[\]{}|]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

export class FqdnMatcher {
  private readonly name?: string;
  private readonly re?: RegExp;
  readonly text: string;

  constructor(sel: FQDNSelector) {
    if (sel.matchName !== undefined && sel.matchName !== "") {
      this.name = toFqdn(sel.matchName);
      this.text = `matchName ${sel.matchName}`;
    } else if (sel.matchPattern !== undefined && sel.matchPattern !== "") {
      this.re = patternToRegExp(sel.matchPattern);
      this.text = `matchPattern ${sel.matchPattern}`;
    } else {
      throw new Error("an FQDN selector needs matchName or matchPattern");
    }
  }

  matches(name: string): boolean {
    const fq = toFqdn(name);
    if (this.name !== undefined) return fq === this.name;
    return (this.re as RegExp).test(fq);
  }
}

/** Validation as in pkg/policy/api/fqdn.go: only [-a-zA-Z0-9_.] (and * in patterns), at most 255 chars. */
export function fqdnSelectorProblem(sel: FQDNSelector): string | undefined {
  const hasName = sel.matchName !== undefined && sel.matchName !== "";
  const hasPattern = sel.matchPattern !== undefined && sel.matchPattern !== "";
  if (!hasName && !hasPattern) return "needs matchName or matchPattern";
  if (hasName && !/^[-a-zA-Z0-9_.]+$/.test(sel.matchName as string))
    return `invalid matchName "${sel.matchName}"`;
  if (hasPattern && !/^[-a-zA-Z0-9_.*]+$/.test(sel.matchPattern as string)) {
    return `invalid matchPattern "${sel.matchPattern}"`;
  }
  if ((sel.matchName ?? "").length > 255 || (sel.matchPattern ?? "").length > 255)
    return "longer than 255 characters";
  return undefined;
}
