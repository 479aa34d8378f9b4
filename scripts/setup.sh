#!/usr/bin/env bash
# Sets up Engram on a machine that has only Node 20, npm and apt (Debian 12): system packages for
# the native headless-gl build and its virtual display, chromium and firefox for the browser checks, pnpm, and the
# workspace's dependencies.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=12.4.2
# chromium renders the documentation site in its check (scripts/check-docs-site.mjs); chromium and
# firefox-esr run the demo app's browser test (apps/demo/test).
SYSTEM_PACKAGES=(xvfb xauth pkg-config make g++ python3 libxi-dev libx11-dev libxext-dev libgl1-mesa-dev libgl1-mesa-dri chromium firefox-esr)
# `scripts/setup.sh --bench` also installs Debian's PyTorch (the peer `pnpm bench` measures against) and OpenBLAS, which
# PyTorch then uses instead of the reference BLAS, as a user's install would.
if [ "${1:-}" = "--bench" ]; then SYSTEM_PACKAGES+=(python3-torch libopenblas0-pthread); fi

missing=()
for p in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION"
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1
fi

# headless-gl compiles against Node's own headers (no prebuilt binary can be downloaded here).
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
pnpm install --frozen-lockfile
pnpm build
