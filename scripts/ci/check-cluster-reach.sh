#!/usr/bin/env bash
# Before `pulumi preview` or `pulumi up` touches Kubernetes objects: can this runner reach the stack's
# EKS API server? A runner outside `mlops:cluster.publicAccessCidrs` (or, with a private endpoint,
# outside the VPC and `privateAccessCidrs`) would otherwise wait on every object until Pulumi times out.
# Any HTTP answer counts as reachable (401/403 included: authentication is the next step's business).
# On a stack's first deploy there is no cluster yet, and nothing to check.
# usage: scripts/ci/check-cluster-reach.sh <org/stack>
set -euo pipefail
stack=$1
if ! cluster=$(pulumi stack output clusterName --stack "$stack" 2>/dev/null) || [ -z "$cluster" ]; then
  echo "check-cluster-reach: $stack has no cluster yet (first deploy): nothing to check"
  exit 0
fi
endpoint=$(aws eks describe-cluster --name "$cluster" --query 'cluster.endpoint' --output text)
code=$(curl --silent --insecure --output /dev/null --max-time 15 --write-out '%{http_code}' "$endpoint/livez" || true)
if [ "$code" = "000" ] || [ -z "$code" ]; then
  cat >&2 <<MSG
check-cluster-reach: this runner cannot reach the Kubernetes API of $cluster ($endpoint).
Either run this job on a runner inside the VPC (repository variable DEPLOY_RUNNER_LABELS, e.g.
["self-hosted","linux","mlops-vpc"], and its subnet in mlops:cluster.privateAccessCidrs), or on runners
whose static egress addresses are listed in mlops:cluster.publicAccessCidrs. See README, "Where pulumi up runs".
MSG
  exit 1
fi
echo "check-cluster-reach: $endpoint answered HTTP $code"
