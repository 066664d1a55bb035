#!/usr/bin/env bash
# Sets up the machine, then runs the linter and every test suite (against real peers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm lint
pnpm typecheck
pnpm test
