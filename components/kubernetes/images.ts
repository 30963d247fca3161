/** Where an image comes from: `<registry>/<name>:<tag>`, optionally pinned to a digest. */
export interface ImageSpec {
  registry: string;
  name: string;
  tag: string;
  digest?: string;
}

/**
 * The reference a pod pulls. With a digest and `preferDigest`, `<repo>:<tag>@<digest>`: the runtime
 * pulls the digest (immutable) and the tag stays for people reading the spec.
 */
export function imageReference(image: ImageSpec, preferDigest: boolean): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(image.tag)) throw new Error(`image ${image.name}: "${image.tag}" is not a valid tag`);
  if (image.tag === "latest") throw new Error(`image ${image.name}: the tag "latest" is not a pin; use a version or a commit SHA`);
  const repository = `${image.registry.replace(/\/+$/, "")}/${image.name}`;
  return preferDigest && image.digest ? `${repository}:${image.tag}@${image.digest}` : `${repository}:${image.tag}`;
}
