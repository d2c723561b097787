#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs e2e.mjs (openai + ollama npm clients against `llmforge serve`). Exit 77 = skipped (ctest
# SKIP_RETURN_CODE) when node/npm are absent or the clients cannot be installed.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node is not installed (scripts/setup installs nodejs and npm); server end-to-end test skipped"
  exit 77
fi
if [ ! -d "$here/node_modules/openai" ] || [ ! -d "$here/node_modules/ollama" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "SKIP: npm is not installed, so the openai/ollama clients cannot be installed; test skipped"
    exit 77
  fi
  if ! (cd "$here" && npm ci --no-audit --no-fund >/dev/null 2>&1); then
    echo "SKIP: npm ci failed in $here (no network?); run scripts/setup; test skipped"
    exit 77
  fi
fi
exec node "$here/e2e.mjs" "$@"
