#!/usr/bin/env bash
# Sets up the machine, then shows concil at work on a registry started on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm --silent demo
