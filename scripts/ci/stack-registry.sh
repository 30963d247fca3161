#!/usr/bin/env bash
# The registry a stack pulls its images from, <registry>/<serving|drift|monitor|api|mlflow>: the stack's
# `mlops:images.registry`, else its `imageRegistry` output (the registry its foundation created: ECR,
# Artifact Registry or ACR). Prints nothing when there is neither (a first deploy without the setting).
# Cloud-neutral: only the Pulumi CLI. Used by pin-images.sh and by the deploy jobs' registry logins.
# usage: scripts/ci/stack-registry.sh <org/stack>
set -euo pipefail
stack=$1
registry=$(pulumi config get --path 'mlops:images.registry' --stack "$stack" 2>/dev/null || true)
if [ -z "$registry" ]; then
  registry=$(pulumi stack output imageRegistry --stack "$stack" 2>/dev/null || true)
fi
printf '%s\n' "${registry%/}" | sed '/^$/d'
