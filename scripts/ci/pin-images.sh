#!/usr/bin/env bash
# Points a stack at the images built for a commit: the tag always, and with --digests the digest of each
# image as its registry reports it (prod pulls by digest). Cloud-neutral: the stack's registry comes from
# scripts/ci/stack-registry.sh (`mlops:images.registry`, else the `imageRegistry` output) and each image
# is looked up with `docker buildx imagetools inspect` (ECR, Artifact Registry and ACR alike; the job has
# logged docker in to that registry first). Every image must exist before anything is written, so a
# stack is never left half-pinned. Used by .github/workflows/deploy.yml.
# usage: scripts/ci/pin-images.sh <org/stack> <commit-sha> [--digests]
set -euo pipefail
stack=$1 sha=$2 mode=${3:-}
services=(serving drift monitor api mlflow)
pulumi stack select "$stack"
registry=$(bash "$(dirname "$0")/stack-registry.sh" "$stack")

if [ -z "$registry" ]; then
  if [ "$mode" = "--digests" ]; then
    cat >&2 <<MSG
pin-images: $stack has no mlops:images.registry and no imageRegistry output (first deploy?): no registry
to read digests from. Set mlops:images.registry to the registry the images job pushes to, or deploy the
stack once without digests.
MSG
    exit 1
  fi
  echo "pin-images: $stack has no registry yet (first deploy): setting the tag without checking the images" >&2
  pulumi config set --path 'mlops:images.tag' "$sha"
  exit 0
fi

errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
# The digest of <registry>/<image>:<sha>: the manifest (index) the tag points to.
digest_of() {
  local ref=$1 manifest
  if ! manifest=$(docker buildx imagetools inspect "$ref" --format '{{json .Manifest}}' 2>"$errors"); then
    echo "pin-images: no image $ref in the registry (or no pull access): $(tr '\n' ' ' <"$errors")" >&2
    echo "  The images job pushes to ECR and to vars.GCP_IMAGE_REGISTRY / vars.AZURE_IMAGE_REGISTRY: one of them must be $registry." >&2
    return 1
  fi
  printf '%s' "$manifest" | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{let d="";try{d=JSON.parse(s).digest??""}catch{}process.stdout.write(String(d))})'
}

declare -A digests=()
missing=0
for service in "${services[@]}"; do
  if ! digest=$(digest_of "$registry/$service:$sha"); then missing=1; continue; fi
  case "$digest" in
    sha256:*) digests[$service]=$digest ;;
    *) echo "pin-images: $registry/$service:$sha answered without a sha256 digest" >&2; missing=1 ;;
  esac
done
if [ "$missing" = 1 ]; then exit 1; fi

pulumi config set --path 'mlops:images.tag' "$sha"
if [ "$mode" = "--digests" ]; then
  for service in "${services[@]}"; do
    pulumi config set --path "mlops:images.$service.digest" "${digests[$service]}"
    echo "pin-images: $registry/$service:$sha@${digests[$service]}"
  done
fi
