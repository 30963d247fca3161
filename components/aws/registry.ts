import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";

export interface ImageRegistryArgs {
  /** Path prefix of the repositories: `<prefix>/<image>`. */
  prefix: string;
  /** One repository per image the deploy workflow pushes. */
  images: readonly string[];
  /** Untagged images (left behind by re-pushed tags) expire after this many days. */
  untaggedExpiryDays: number;
  /** Whether `pulumi destroy` may delete repositories that still hold images (dev only). */
  forceDelete: boolean;
  kmsKeyArn: pulumi.Input<string>;
  tags: Tags;
}

/**
 * The ECR repositories the deploy workflow pushes to: immutable tags (a commit SHA names one image
 * forever, so a digest pinned by CI cannot move), scan on push, KMS encryption.
 */
export class ImageRegistry extends pulumi.ComponentResource {
  /** `<account>.dkr.ecr.<region>.amazonaws.com/<prefix>`: what `mlops:images.registry` defaults to. */
  readonly url: pulumi.Output<string>;
  readonly repositories: aws.ecr.Repository[];

  constructor(name: string, args: ImageRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:aws:ImageRegistry", name, {}, opts);
    const parent = { parent: this };
    this.repositories = args.images.map((image) => {
      const repository = new aws.ecr.Repository(
        `${name}-${image}`,
        {
          name: `${args.prefix}/${image}`,
          imageTagMutability: "IMMUTABLE",
          imageScanningConfiguration: { scanOnPush: true },
          encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: args.kmsKeyArn }],
          forceDelete: args.forceDelete,
          tags: { ...args.tags, Name: `${args.prefix}/${image}` },
        },
        parent,
      );
      new aws.ecr.LifecyclePolicy(`${name}-${image}-lifecycle`, { repository: repository.name, policy: untaggedExpiryPolicy(args.untaggedExpiryDays) }, parent);
      return repository;
    });
    const identity = aws.getCallerIdentityOutput({}, parent);
    const region = aws.getRegionOutput({}, parent);
    this.url = pulumi.interpolate`${identity.accountId}.dkr.ecr.${region.region}.amazonaws.com/${args.prefix}`;
    this.registerOutputs({ url: this.url });
  }
}

export function untaggedExpiryPolicy(days: number): string {
  return JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description: `Expire untagged images after ${days} days`,
        selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: days },
        action: { type: "expire" },
      },
    ],
  });
}
