import * as kms from "@pulumi/gcp/kms";
import * as pulumi from "@pulumi/pulumi";

/** Cloud KMS rotates every key at most every 90 days. */
export const KEY_ROTATION_PERIOD = "7776000s";
export const ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter";

export interface KeysArgs {
  project: string;
  /** The keys live in the region of the resources they encrypt (GKE, Cloud SQL and GCS need that). */
  region: string;
  labels: Record<string, string>;
  /**
   * Pulumi `protect` on the key ring and keys: destroying a CryptoKey destroys its versions, which
   * makes every bucket object, backup and Secret encrypted with it unreadable.
   */
  protect: boolean;
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * One key ring per foundation and one key per purpose, each granted to exactly the Google service
 * agent that uses it. Key rings and keys can never be deleted in Cloud KMS: the ring's name is
 * auto-suffixed by Pulumi, so a re-created stack never collides with an old one.
 */
export class Keys extends pulumi.ComponentResource {
  readonly keyRing: kms.KeyRing;
  private readonly args: KeysArgs;
  private readonly baseName: string;

  constructor(name: string, args: KeysArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:gcp:Keys", name, {}, opts);
    this.args = args;
    this.baseName = name;
    this.keyRing = new kms.KeyRing(
      `${name}-ring`,
      { project: args.project, location: args.region },
      { parent: this, dependsOn: args.dependsOn, protect: args.protect },
    );
    this.registerOutputs({ keyRing: this.keyRing.id });
  }

  /** A symmetric key rotated every 90 days, usable for encrypt/decrypt by `agents` (IAM members) only. */
  key(purpose: string, agents: pulumi.Input<string>[]): { key: kms.CryptoKey; grants: kms.CryptoKeyIAMMember[] } {
    const name = `${this.baseName}-${purpose}`;
    const key = new kms.CryptoKey(
      name,
      { keyRing: this.keyRing.id, purpose: "ENCRYPT_DECRYPT", rotationPeriod: KEY_ROTATION_PERIOD, labels: { ...this.args.labels, purpose } },
      { parent: this, protect: this.args.protect },
    );
    const grants = agents.map(
      (member, i) => new kms.CryptoKeyIAMMember(`${name}-agent-${i}`, { cryptoKeyId: key.id, role: ENCRYPTER_DECRYPTER, member }, { parent: this }),
    );
    return { key, grants };
  }
}
