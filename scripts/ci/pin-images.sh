#!/usr/bin/env bash
# Points a stack at the images built for a commit: the tag always, and with --digests the digest of each
# image as ECR reports it (prod pulls by digest). Used by .github/workflows/deploy.yml.
# usage: scripts/ci/pin-images.sh <org/stack> <commit-sha> [--digests]
set -euo pipefail
stack=$1 sha=$2 mode=${3:-}
pulumi stack select "$stack"
pulumi config set --path 'mlops:images.tag' "$sha"
if [ "$mode" = "--digests" ]; then
  for service in serving drift monitor mlflow; do
    digest=$(aws ecr describe-images --repository-name "mlops/$service" --image-ids "imageTag=$sha" --query 'imageDetails[0].imageDigest' --output text)
    case "$digest" in sha256:*) ;; *) echo "no image mlops/$service:$sha in ECR" >&2; exit 1 ;; esac
    pulumi config set --path "mlops:images.$service.digest" "$digest"
  done
fi
