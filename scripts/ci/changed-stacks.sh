#!/usr/bin/env bash
# Which stacks a change touches, as a GitHub Actions matrix: reads the changed paths (one per line) on
# stdin and prints [{"stack": ..., "environment": ..., "cloud": ..., "region": ...}, ...] for the PR
# preview job (the fields: scripts/ci/stack-matrix.sh; `cloud` picks the job's OIDC login).
# A change to the program, the pack or the dependencies touches every stack; a change to
# Pulumi.<stack>.yaml touches that stack; anything else (services, docs, tests) touches none.
# Stacks with mlops:cloud `local` are never in the matrix: a kind cluster on a laptop has nothing CI
# could preview against. The offline policy gate (the test job) still plans them.
# usage: git diff --name-only origin/main...HEAD | bash scripts/ci/changed-stacks.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

changed=$(cat)
if printf '%s\n' "$changed" | grep -qE '^(infra/|components/|policies/|Pulumi\.yaml$|package(-lock)?\.json$|tsconfig\.json$)'; then
  exec bash scripts/ci/stack-matrix.sh --all
fi
stacks=$(printf '%s\n' "$changed" | sed -nE 's/^Pulumi\.(.+)\.yaml$/\1/p' | while read -r s; do if [ -e "Pulumi.$s.yaml" ]; then echo "$s"; fi; done | sort -u)
# shellcheck disable=SC2086 # one stack name per word (stack-matrix.sh rejects anything else)
exec bash scripts/ci/stack-matrix.sh $stacks
