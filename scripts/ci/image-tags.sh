#!/usr/bin/env bash
# The tags one service image is pushed with (one build, every registry a stack pulls from), one per line:
#   $ECR_REGISTRY/mlops/<service>:<sha>      ECR_REGISTRY: the registry host amazon-ecr-login answered
#   <registry>/<service>:<sha>               for each registry in GCP_IMAGE_REGISTRY and AZURE_IMAGE_REGISTRY
# GCP_IMAGE_REGISTRY / AZURE_IMAGE_REGISTRY (repository variables) hold one registry, or several separated
# by spaces (e.g. the Artifact Registry repositories of the dev and the prod project); unset: skipped.
# usage: scripts/ci/image-tags.sh <service> <commit-sha>
set -euo pipefail
service=$1 sha=$2
pattern='^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$'
if [ -n "${ECR_REGISTRY:-}" ]; then echo "${ECR_REGISTRY%/}/mlops/$service:$sha"; fi
for variable in GCP_IMAGE_REGISTRY AZURE_IMAGE_REGISTRY; do
  for registry in ${!variable:-}; do
    registry=${registry%/}
    if ! [[ "$registry" =~ $pattern ]]; then
      echo "image-tags: $variable: \"$registry\" is not <host>[/<path>] (no scheme, no tag)" >&2
      exit 1
    fi
    echo "$registry/$service:$sha"
  done
done
