import type * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/**
 * The database administrator's password on every target: generated once by @pulumi/random, kept as a
 * Pulumi secret. Letters and digits only, so it goes into connection URIs without escaping.
 */
export function generatedDatabasePassword(name: string, parent: pulumi.Resource): random.RandomPassword {
  return new random.RandomPassword(name, { length: 40, special: false }, { parent, additionalSecretOutputs: ["result"] });
}
