/** A container image reference split into its parts: `registry.example.com:5000/team/app:1.2@sha256:...`. */
export interface ImageRef {
  /** Everything before the last path segment's tag, e.g. `registry.example.com:5000/team/app`. */
  repository: string;
  tag?: string;
  digest?: string;
}

export function parseImage(image: string): ImageRef {
  const [withoutDigest, digest] = image.split("@", 2);
  const slash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", slash + 1);
  return colon >= 0
    ? { repository: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1), digest }
    : { repository: withoutDigest, digest };
}

export const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Whether `image` comes from one of `registries` (a registry host with an optional path prefix). */
export function fromRegistry(image: string, registries: string[]): boolean {
  const { repository } = parseImage(image);
  return registries.some((r) => {
    const prefix = r.replace(/\/+$/, "");
    return repository === prefix || repository.startsWith(`${prefix}/`);
  });
}
