#!/usr/bin/env bash
# The stacks CI runs Pulumi on, as a GitHub Actions matrix: prints
# [{"stack": ..., "environment": ..., "cloud": ..., "region": ...}, ...] read from the stack files.
#   stack    Pulumi.<stack>.yaml
#   environment  mlops:environment (required: it picks policies/config/<environment>.json and the identities)
#   cloud    mlops:cloud, else Pulumi.yaml's default (aws)
#   region   aws:region (default us-west-2) | gcp:region | azure-native:location
# Stacks whose cloud is `local` (a kind cluster on a laptop) are left out: CI has no cluster to reach for
# them. The offline policy gate of pull-request.yml still plans every stack, local included.
# usage: scripts/ci/stack-matrix.sh [--environment <env>] --all      every stack (of that environment)
#        scripts/ci/stack-matrix.sh [--environment <env>] <stack>...  these stacks (of that environment)
# Used by changed-stacks.sh (pull-request previews) and by deploy.yml (the stacks of dev, then of prod).
set -euo pipefail
cd "$(dirname "$0")/../.."

environment_filter="" all=0 stacks=()
while [ $# -gt 0 ]; do
  case "$1" in
    --environment) environment_filter=${2:?--environment needs a value}; shift 2 ;;
    --all) all=1; shift ;;
    -*) echo "stack-matrix: unknown option $1" >&2; exit 2 ;;
    *) stacks+=("$1"); shift ;;
  esac
done
if [ "$all" = 1 ]; then
  stacks=()
  for f in Pulumi.*.yaml; do if [ -e "$f" ]; then stacks+=("$(basename "$f" .yaml | sed 's/^Pulumi\.//')"); fi; done
fi

# The top-level `config:` keys of a stack file, as "key value" lines (plain scalars only; enough for
# these keys), read once per stack; config_value picks one.
declare -A values=()
read_config() {
  values=()
  local key value
  while read -r key value; do values[$key]=$value; done < <(sed -nE 's/^  ([a-z-]+:[A-Za-z.]+):[[:space:]]*"?([^"#[:space:]]+)"?.*/\1 \2/p' "Pulumi.$1.yaml")
}
config_value() { printf '%s' "${values[$2]:-}"; }
# The project default of mlops:cloud (Pulumi.yaml: `  mlops:cloud:` then `    value: <cloud>`).
default_cloud=$(sed -nE '/^  mlops:cloud:/{n;s/^[[:space:]]+value:[[:space:]]*"?([a-z]+)"?.*/\1/p;}' Pulumi.yaml 2>/dev/null | head -n 1)
default_cloud=${default_cloud:-aws}

entries=()
for stack in "${stacks[@]+"${stacks[@]}"}"; do
  if ! [[ "$stack" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
    echo "stack-matrix: \"$stack\" is not a stack name (letters, digits, '.', '_', '-')" >&2
    exit 1
  fi
  if [ ! -e "Pulumi.$stack.yaml" ]; then
    echo "stack-matrix: no Pulumi.$stack.yaml" >&2
    exit 1
  fi
  read_config "$stack"
  environment=$(config_value "$stack" "mlops:environment")
  if [ -z "$environment" ]; then
    echo "Pulumi.$stack.yaml has no mlops:environment: cannot pick policies/config/<env>.json" >&2
    exit 1
  fi
  if [ -n "$environment_filter" ] && [ "$environment" != "$environment_filter" ]; then continue; fi
  cloud=$(config_value "$stack" "mlops:cloud")
  cloud=${cloud:-$default_cloud}
  case "$cloud" in
    local) continue ;; # no cluster CI can reach: never previewed or deployed by CI
    aws) region=$(config_value "$stack" "aws:region"); region=${region:-us-west-2} ;;
    gcp) region=$(config_value "$stack" "gcp:region") ;;
    azure) region=$(config_value "$stack" "azure-native:location") ;;
    *) echo "Pulumi.$stack.yaml: mlops:cloud \"$cloud\" is none of aws, gcp, azure, local" >&2; exit 1 ;;
  esac
  if [ -z "$region" ]; then
    key=$([ "$cloud" = gcp ] && echo gcp:region || echo azure-native:location)
    echo "Pulumi.$stack.yaml has no $key: a $cloud stack names its region" >&2
    exit 1
  fi
  entries+=("{\"stack\":\"$stack\",\"environment\":\"$environment\",\"cloud\":\"$cloud\",\"region\":\"$region\"}")
done
(IFS=,; echo "[${entries[*]:-}]")
