# Sourced by scripts/pulumi.sh and scripts/down.sh: the state backend and the secrets passphrase that every
# Pulumi command of this checkout uses, so `npm run up` and hand-run commands (`npm run pulumi -- ...`)
# see the same stacks and can read each other's secrets.
#
# Backend: PULUMI_BACKEND_URL when set (a team backend), else .pulumi-state/ in this checkout (a file
# backend: no Pulumi Cloud account).
# Passphrase (file backends only; a Pulumi Cloud backend encrypts with its own keys): the one given in
# PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, never an empty one (secrets such as a
# cluster-admin kubeconfig would be encrypted under a key anyone can derive). Without either, a random
# passphrase is made once in .pulumi-state/passphrase (mode 0600, git-ignored) and used from then on;
# keep it with the state: the stacks' secrets cannot be read without it.

castle_pulumi_env() {
  local root="$1"
  export PULUMI_SKIP_UPDATE_CHECK="${PULUMI_SKIP_UPDATE_CHECK:-true}"
  if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
    mkdir -p "$root/.pulumi-state"
    export PULUMI_BACKEND_URL="file://$root/.pulumi-state"
  fi
  case "$PULUMI_BACKEND_URL" in
    file://* | s3://* | gs://* | azblob://*) ;;
    *) return 0 ;; # Pulumi Cloud or self-hosted service: it manages the secrets keys
  esac
  if [ -n "${PULUMI_CONFIG_PASSPHRASE+set}" ]; then
    if [ -z "$PULUMI_CONFIG_PASSPHRASE" ]; then
      echo "cilium-castle: PULUMI_CONFIG_PASSPHRASE is set but empty: secrets would be encrypted under an empty passphrase. Unset it (a random one is then kept in .pulumi-state/passphrase) or set a real one." >&2
      return 1
    fi
    return 0
  fi
  if [ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    if [ ! -s "$PULUMI_CONFIG_PASSPHRASE_FILE" ]; then
      echo "cilium-castle: PULUMI_CONFIG_PASSPHRASE_FILE=$PULUMI_CONFIG_PASSPHRASE_FILE is missing or empty." >&2
      return 1
    fi
    return 0
  fi
  local file="$root/.pulumi-state/passphrase"
  if [ ! -s "$file" ] && [ "$PULUMI_BACKEND_URL" = "file://$root/.pulumi-state" ]; then
    # Stacks made before the passphrase was kept here were encrypted under an empty passphrase.
    local stacks
    stacks="$({ find "$root/.pulumi-state/.pulumi/stacks" -name '*.json' 2>/dev/null || true; } | sed 's|.*/||; s|\.json$||' | sort -u | tr '\n' ' ')"
    if [ -n "$stacks" ]; then
      cat >&2 <<MSG
cilium-castle: .pulumi-state holds stacks ($stacks) whose secrets are encrypted under an empty passphrase
(what older versions of this checkout used). Re-encrypt them once under a random passphrase kept in
.pulumi-state/passphrase, then run your command again:

  cd $root && (umask 077 && head -c 32 /dev/urandom | base64 > .pulumi-state/passphrase) && for s in $stacks; do PULUMI_BACKEND_URL=file://$root/.pulumi-state PULUMI_CONFIG_PASSPHRASE= pulumi stack change-secrets-provider passphrase --stack "\$s" --non-interactive < .pulumi-state/passphrase; done
MSG
      return 1
    fi
  fi
  if [ ! -s "$file" ]; then
    mkdir -p "$root/.pulumi-state"
    (umask 077 && head -c 32 /dev/urandom | base64 >"$file")
    echo "cilium-castle: made a random secrets passphrase in .pulumi-state/passphrase (keep it with the state)" >&2
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$file"
}

castle_need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || {
      echo "cilium-castle: '$tool' is not on PATH (see README, Prerequisites)" >&2
      return 1
    }
  done
}
