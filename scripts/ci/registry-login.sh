#!/usr/bin/env bash
# Logs docker in to container registries with the job's OIDC-born cloud identity (no stored password):
#   aws    `aws ecr get-login-password` (the role configure-aws-credentials assumed)
#   gcp    an access token: $GCP_ACCESS_TOKEN (google-github-actions/auth token_format: access_token),
#          else `gcloud auth print-access-token` (setup-gcloud after auth); user oauth2accesstoken
#   azure  the Entra ID token of the `az` login (azure/login) exchanged at <host>/oauth2/exchange for an
#          ACR refresh token, as `az acr login` does, without looking the registry up in a subscription
# A registry is <host>[/<path>]; several may be given (hosts are deduplicated); none: nothing to do.
# usage: scripts/ci/registry-login.sh <aws|gcp|azure> [<registry>...]
set -euo pipefail
cloud=$1; shift
hosts=$(for registry in "$@"; do echo "${registry%%/*}"; done | sed '/^$/d' | sort -u)
if [ -z "$hosts" ]; then echo "registry-login: no registry to log in to"; exit 0; fi

for host in $hosts; do
  case "$cloud" in
    aws)
      region=$(printf '%s' "$host" | sed -nE 's/^[0-9]+\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$/\1/p')
      aws ecr get-login-password ${region:+--region "$region"} | docker login --username AWS --password-stdin "$host" ;;
    gcp)
      token=${GCP_ACCESS_TOKEN:-$(gcloud auth print-access-token)}
      printf '%s' "$token" | docker login --username oauth2accesstoken --password-stdin "https://$host" ;;
    azure)
      aad=$(az account get-access-token --query accessToken --output tsv)
      tenant=$(az account show --query tenantId --output tsv)
      refresh=$(curl --silent --show-error --fail --request POST "https://$host/oauth2/exchange" \
        --data-urlencode grant_type=access_token --data-urlencode "service=$host" \
        --data-urlencode "tenant=$tenant" --data-urlencode "access_token=$aad" |
        node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{try{process.stdout.write(JSON.parse(s).refresh_token??"")}catch{}})')
      if [ -z "$refresh" ]; then echo "registry-login: $host gave no refresh token for this identity (AcrPush/AcrPull on it?)" >&2; exit 1; fi
      printf '%s' "$refresh" | docker login --username 00000000-0000-0000-0000-000000000000 --password-stdin "$host" ;;
    *) echo "registry-login: unknown cloud \"$cloud\" (aws, gcp, azure)" >&2; exit 2 ;;
  esac
done
