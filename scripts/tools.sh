#!/usr/bin/env bash
# The real tier's tools, built from their Go modules at pinned versions (tools/go/<tool>/go.mod) into a
# cache keyed by tool, version and a hash of the wrapper module, so a second run reuses them.
#
#   scripts/tools.sh build [tool...]   build what is missing (all tools by default), print the bin dir
#   scripts/tools.sh bin-dir [tool...] print the bin dir (one folder of symlinks) without building
#   scripts/tools.sh pulumi-home DIR   install the plugins and language host into DIR (a PULUMI_HOME)
#   scripts/tools.sh list              the tools, their versions and whether they are cached
#
# The cache lives outside the checkout so that a clean clone (CI) reuses it: CASTLE_TOOLS_DIR, default
# ${XDG_CACHE_HOME:-~/.cache}/cilium-castle/tools. Nothing is downloaded but Go modules from the proxy.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WRAPPERS="$ROOT/tools/go"
CACHE="${CASTLE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cilium-castle/tools}"

# name | version | package=binary ... ("." is the wrapper's own main package) | ldflags
# Each row's version is the module version its wrapper go.mod requires; `list` checks that they agree.
tool_rows() {
  cat <<'EOF'
pulumi|v3.248.0|github.com/pulumi/pulumi/pkg/v3/cmd/pulumi=pulumi|-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.248.0
langhost-nodejs|v3.248.0|.=pulumi-language-nodejs|
command-provider|v1.2.1|.=pulumi-resource-command|
kubernetes-provider|v4.25.0|.=pulumi-resource-kubernetes|-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=4.25.0
kube|v1.35.4|k8s.io/kubernetes/cmd/kube-apiserver=kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager=kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler=kube-scheduler k8s.io/kubernetes/cmd/kubectl=kubectl|-X k8s.io/component-base/version.gitVersion=v1.35.4 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=35 -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=v1.35.4 -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=35
etcd|v3.6.16|go.etcd.io/etcd/server/v3=etcd|
kwok|v0.8.0|sigs.k8s.io/kwok/cmd/kwok=kwok|-X sigs.k8s.io/kwok/pkg/consts.Version=v0.8.0
kind|v0.33.0|sigs.k8s.io/kind=kind .=castle-kind-defaults|
cilium|v1.19.5|.=castle-cilium-crds|
cilium-oracle-1.19|v1.19.5|.=castle-cilium-oracle-1.19|
cilium-oracle-1.20|v1.20.0|.=castle-cilium-oracle-1.20|
chart-images|v3.18.6|.=castle-chart-images|
actionlint|v1.7.12|github.com/rhysd/actionlint/cmd/actionlint=actionlint|
EOF
}

die() {
  echo "tools.sh: $*" >&2
  exit 1
}

row() {
  local r
  r="$(tool_rows | awk -F'|' -v n="$1" '$1 == n')"
  [ -n "$r" ] || die "unknown tool '$1' (known: $(tool_rows | cut -d'|' -f1 | tr '\n' ' '))"
  printf '%s\n' "$r"
}

# The key covers everything that decides the binary: the wrapper's go.mod, go.sum and sources, the row
# (version, packages, flags) and the Go version.
tool_dir() {
  local name="$1" r hash
  r="$(row "$name")"
  hash="$(
    {
      printf '%s\n' "$r"
      go env GOVERSION
      # -L: a wrapper may share sources with another by symlink (the Cilium oracles): key on their content.
      find -L "$WRAPPERS/$name" -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) ! -name '*_test.go' -print0 |
        sort -z | xargs -0 sha256sum | sed "s|$WRAPPERS/||"
    } | sha256sum | cut -c1-12
  )"
  printf '%s/%s-%s-%s\n' "$CACHE" "$name" "$(cut -d'|' -f2 <<<"$r")" "$hash"
}

# kubernetes-provider embeds its schema like upstream's `go generate` (cmd/pulumi-resource-kubernetes/
# generate.go): the module's schema.json with the version written in, and the terraform mapping.
prepare_kubernetes_provider() {
  local dir="$WRAPPERS/kubernetes-provider" mod
  mod="$(cd "$dir" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)"
  python3 - "$mod/cmd/pulumi-resource-kubernetes" "$dir" "4.25.0" <<'PY'
import json, sys
src, dst, version = sys.argv[1:4]
schema = json.load(open(f"{src}/schema.json"))
schema["version"] = version
json.dump(schema, open(f"{dst}/schema-embed.json", "w"), separators=(",", ":"))
mapping = json.load(open(f"{src}/terraform-mapping.json"))
json.dump(mapping, open(f"{dst}/terraform-mapping-embed.json", "w"), separators=(",", ":"))
PY
}

# kwok needs Stage configs to play nodes and pods; the module ships kwokctl's defaults (kustomize/stage):
# nodes Ready at once with lease heartbeats, pods Running and Ready at once, Job pods completed.
copy_kwok_stages() {
  local mod
  mod="$(cd "$WRAPPERS/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
  mkdir -p "$1"
  cp "$mod/kustomize/stage/node/fast/node-initialize.yaml" \
    "$mod/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
    "$mod"/kustomize/stage/pod/fast/pod-*.yaml "$1/"
  chmod u+w "$1"/*
}

build_one() {
  local name="$1" r version pkgs ldflags out tmp spec pkg bin start
  r="$(row "$name")"
  IFS='|' read -r _ version pkgs ldflags <<<"$r"
  out="$(tool_dir "$name")"
  if [ -f "$out/.complete" ]; then
    return 0
  fi
  [ -f "$WRAPPERS/$name/go.mod" ] || die "no wrapper module at tools/go/$name"
  echo "tools.sh: building $name $version (cold builds take minutes on 2 cores)" >&2
  start=$(date +%s)
  [ "$name" = kubernetes-provider ] && prepare_kubernetes_provider
  tmp="$out.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  for spec in $pkgs; do
    pkg="${spec%%=*}"
    bin="${spec#*=}"
    (cd "$WRAPPERS/$name" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp/$bin" "$pkg") ||
      die "building $name ($pkg) failed"
  done
  [ "$name" = kwok ] && copy_kwok_stages "$tmp/stages"
  rm -rf "$out"
  mv "$tmp" "$out"
  date -u +%FT%TZ >"$out/.complete"
  echo "tools.sh: built $name $version in $(($(date +%s) - start))s -> $out" >&2
}

all_tools() { tool_rows | cut -d'|' -f1; }

# One folder of symlinks to the cached binaries, for PATH.
link_bin_dir() {
  local bin="$CACHE/bin" name f
  mkdir -p "$bin"
  for name in "$@"; do
    for f in "$(tool_dir "$name")"/*; do
      [ -f "$f" ] && ln -sfn "$f" "$bin/$(basename "$f")"
    done
  done
  printf '%s\n' "$bin"
}

# A PULUMI_HOME with the resource plugins and the language host installed from the cache, so the CLI
# never tries to download one (it looks in $PULUMI_HOME/plugins before asking get.pulumi.com).
install_plugins() {
  local home="$1" bin
  bin="$(link_bin_dir pulumi langhost-nodejs command-provider kubernetes-provider)"
  mkdir -p "$home"
  # The CLI refuses `plugin install` for nodejs ("bundled with Pulumi"), but finds a language host in its
  # plugin folder (sdk/go/common/workspace/plugins.go: GetPluginPath).
  mkdir -p "$home/plugins/language-nodejs-v3.248.0"
  cp -f "$bin/pulumi-language-nodejs" "$home/plugins/language-nodejs-v3.248.0/pulumi-language-nodejs"
  PULUMI_HOME="$home" "$bin/pulumi" plugin install resource command 1.2.1 --file "$bin/pulumi-resource-command" >&2
  PULUMI_HOME="$home" "$bin/pulumi" plugin install resource kubernetes 4.25.0 --file "$bin/pulumi-resource-kubernetes" >&2
}

cmd="${1:-}"
shift || true
case "$cmd" in
  build)
    command -v go >/dev/null || die "go is not on PATH: the real tier builds its tools with Go 1.26"
    [ $# -gt 0 ] || set -- $(all_tools)
    for t in "$@"; do build_one "$t"; done
    link_bin_dir "$@"
    ;;
  bin-dir)
    [ $# -gt 0 ] || set -- $(all_tools)
    link_bin_dir "$@"
    ;;
  pulumi-home)
    [ $# -eq 1 ] || die "usage: tools.sh pulumi-home <folder>"
    install_plugins "$1"
    ;;
  list)
    for t in $(all_tools); do
      d="$(tool_dir "$t")"
      if [ -f "$d/.complete" ]; then s="cached $(cat "$d/.complete")"; else s="not built"; fi
      printf '%-20s %-10s %s (%s)\n' "$t" "$(row "$t" | cut -d'|' -f2)" "$s" "$d"
    done
    ;;
  *)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
