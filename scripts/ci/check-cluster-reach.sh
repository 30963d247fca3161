#!/usr/bin/env bash
# Before `pulumi preview` or `pulumi up` touches Kubernetes objects: can this runner reach the stack's
# API server (EKS, GKE or AKS)? A runner outside the cluster's allowed networks would otherwise wait on
# every object until Pulumi times out. Cloud-neutral: the API server URL is clusters[0].cluster.server of
# the stack's `kubeconfig` output (a secret, hence --show-secrets; nothing of it is printed but the URL).
# Any HTTP answer counts as reachable (401/403 included: authentication is the next step's business).
# On a stack's first deploy there is no kubeconfig output yet, and nothing to check.
# usage: scripts/ci/check-cluster-reach.sh <org/stack>
set -euo pipefail
stack=$1
if ! kubeconfig=$(pulumi stack output kubeconfig --show-secrets --stack "$stack" 2>/dev/null) || [ -z "$kubeconfig" ]; then
  echo "check-cluster-reach: $stack has no cluster yet (first deploy): nothing to check"
  exit 0
fi
# "<cluster name> <server URL>" from the kubeconfig JSON (an output may also come back JSON-quoted).
read -r cluster endpoint < <(printf '%s' "$kubeconfig" | node -e '
  let s = "";
  process.stdin.on("data", (d) => (s += d)).on("end", () => {
    try {
      let k = JSON.parse(s);
      if (typeof k === "string") k = JSON.parse(k);
      const c = (k.clusters ?? [])[0] ?? {};
      process.stdout.write(`${c.name || "-"} ${c.cluster?.server ?? ""}\n`);
    } catch {
      process.stdout.write("- \n");
    }
  });') || true
if [ -z "${endpoint:-}" ]; then
  echo "check-cluster-reach: the kubeconfig output of $stack names no API server (clusters[0].cluster.server)" >&2
  exit 1
fi
code=$(curl --silent --insecure --output /dev/null --max-time 15 --write-out '%{http_code}' "${endpoint%/}/livez" || true)
if [ "$code" = "000" ] || [ -z "$code" ]; then
  cat >&2 <<MSG
check-cluster-reach: this runner cannot reach the Kubernetes API of $cluster ($endpoint).
Either run this job on a runner inside the cluster's network (repository variable DEPLOY_RUNNER_LABELS,
e.g. ["self-hosted","linux","mlops-vpc"]; on AWS with a private endpoint, its subnet in
mlops:cluster.privateAccessCidrs), or on runners whose static egress addresses are listed in
mlops:cluster.publicAccessCidrs (EKS public access CIDRs, GKE master authorized networks, AKS API server
authorized IP ranges). See README, "Where pulumi up runs".
MSG
  exit 1
fi
echo "check-cluster-reach: $endpoint answered HTTP $code"
