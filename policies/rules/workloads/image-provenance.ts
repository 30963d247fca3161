import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { DIGEST, fromRegistry, parseImage } from "../support/images";
import { describeContainer } from "../support/kubernetes";
import { forWorkloads } from "../support/workloads";

interface Params {
  allowedRegistries: string[];
  requireDigest: boolean;
}

/**
 * Third-party images follow the same rule as ours when a typed workload runs them: mirror them into
 * an allowed registry (an ECR pull-through cache, Artifact Registry remote repository, ACR cache
 * rule) and pin the digest. Images inside a Helm release are invisible to a policy; they are governed
 * by the chart's pinned version (workloads-helm-chart-pinned) and reviewed when the pin moves.
 */
export const workloadsImageProvenance = resourceRule(
  {
    name: "workloads-image-provenance",
    description:
      "In production every container image comes from an allowed registry and is pulled by digest, so what runs is exactly what was built, scanned and approved, and a re-pushed tag changes nothing. Third-party images used by typed workloads are mirrored into an allowed registry and pinned the same way; images inside Helm releases are governed by the chart's pinned version instead.",
    severity: "high",
    framework: platform("Software supply chain: trusted registries and immutable digests"),
    clouds: ["kubernetes"],
    enforcementLevel: "advisory",
    configSchema: {
      properties: {
        allowedRegistries: { type: "array", items: { type: "string" }, default: [] },
        requireDigest: { type: "boolean", default: true },
      },
    },
    remediationSteps:
      "Build and push images to the allowed registry (CI tags them with the commit SHA) and set mlops:images.<service>.digest; mirror third-party images into the same registry and reference them as <mirror>/<name>:<tag>@sha256:<digest>.",
  },
  forWorkloads((workload, args, report) => {
    const { allowedRegistries, requireDigest } = args.getConfig<Params>();
    for (const ref of workload.containers) {
      const image = String(ref.container.image ?? "");
      const c = `${workload.label}: ${describeContainer(ref)}`;
      const { digest } = parseImage(image);
      if (requireDigest && !(digest && DIGEST.test(digest))) report(`${c} image "${image}" is not pinned by digest: append @sha256:<digest>`);
      if (allowedRegistries.length && !fromRegistry(image, allowedRegistries)) report(`${c} image "${image}" is not from an allowed registry (${allowedRegistries.join(", ")}): mirror it there`);
    }
  }),
);
