/** The platform's images: one repository each, `<registry>/<name>`. */
export const IMAGE_NAMES = ["serving", "drift", "monitor", "api", "mlflow"] as const;
export type ImageName = (typeof IMAGE_NAMES)[number];

/** Stands for the digest CI pins before a deploy (scripts/ci/pin-images.sh): never deployable. */
export const DIGEST_PLACEHOLDER = "pinned-by-ci";
