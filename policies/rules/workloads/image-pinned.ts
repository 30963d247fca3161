import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { parseImage } from "../support/images";
import { describeContainer } from "../support/kubernetes";
import { forWorkloads } from "../support/workloads";

export const workloadsImagePinned = resourceRule(
  {
    name: "workloads-image-pinned",
    description:
      "Every container image names a version: a tag other than latest, or a digest. An untagged or :latest image changes under a running Deployment, so two replicas can run different code and a rollback does not roll back.",
    severity: "high",
    framework: platform("Immutable, reviewable image references"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    remediationSteps: "Use <registry>/<name>:<version or commit SHA>, or better <name>:<tag>@sha256:<digest>.",
  },
  forWorkloads((workload, _args, report) => {
    for (const ref of workload.containers) {
      const image = String(ref.container.image ?? "");
      const { tag, digest } = parseImage(image);
      if (digest) continue;
      if (!image) report(`${workload.label}: ${describeContainer(ref)} names no image`);
      else if (!tag) report(`${workload.label}: ${describeContainer(ref)} uses the untagged image "${image}" (that is :latest): pin a version tag or a digest`);
      else if (tag === "latest") report(`${workload.label}: ${describeContainer(ref)} uses "${image}": latest is not a version; pin a version tag or a digest`);
    }
  }),
);
