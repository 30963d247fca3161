#!/usr/bin/env bash
# Which stacks a change touches, as a GitHub Actions matrix: reads the changed paths (one per line) on
# stdin and prints [{"stack": ..., "environment": ..., "region": ...}, ...] for the PR preview job.
# A change to the program, the pack or the dependencies touches every stack; a change to
# Pulumi.<stack>.yaml touches that stack; anything else (services, docs, tests) touches none.
# usage: git diff --name-only origin/main...HEAD | bash scripts/ci/changed-stacks.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

all_stacks() { for f in Pulumi.*.yaml; do if [ -e "$f" ]; then basename "$f" .yaml | sed 's/^Pulumi\.//'; fi; done; }
# The value of a top-level `config:` key of a stack file (plain scalars only; enough for these two keys).
config_value() { sed -nE "s/^  $2:[[:space:]]*\"?([^\"#[:space:]]+)\"?.*/\1/p" "Pulumi.$1.yaml" | head -n 1; }

changed=$(cat)
if printf '%s\n' "$changed" | grep -qE '^(infra/|components/|policies/|Pulumi\.yaml$|package(-lock)?\.json$|tsconfig\.json$)'; then
  stacks=$(all_stacks)
else
  stacks=$(printf '%s\n' "$changed" | sed -nE 's/^Pulumi\.(.+)\.yaml$/\1/p' | while read -r s; do if [ -e "Pulumi.$s.yaml" ]; then echo "$s"; fi; done)
fi

entries=()
for stack in $stacks; do
  environment=$(config_value "$stack" "mlops:environment")
  region=$(config_value "$stack" "aws:region")
  if [ -z "$environment" ]; then
    echo "Pulumi.$stack.yaml has no mlops:environment: cannot pick policies/config/<env>.json" >&2
    exit 1
  fi
  entries+=("{\"stack\":\"$stack\",\"environment\":\"$environment\",\"region\":\"${region:-us-west-2}\"}")
done
(IFS=,; echo "[${entries[*]:-}]")
