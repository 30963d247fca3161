/** Where an image comes from: `<registry>/<name>:<tag>`, optionally pinned to a digest. */
export interface ImageSpec {
  registry: string;
  name: string;
  /**
   * A pin (a version or a commit SHA, never `latest`). The stack config is the one place that checks
   * it (`imageTag`, infra/config.ts): this function's only caller passes validated config.
   */
  tag: string;
  digest?: string;
}

/**
 * The reference a pod pulls. With a digest and `preferDigest`, `<repo>:<tag>@<digest>`: the runtime
 * pulls the digest (immutable) and the tag stays for people reading the spec.
 */
export function imageReference(image: ImageSpec, preferDigest: boolean): string {
  const repository = `${image.registry.replace(/\/+$/, "")}/${image.name}`;
  return preferDigest && image.digest ? `${repository}:${image.tag}@${image.digest}` : `${repository}:${image.tag}`;
}
