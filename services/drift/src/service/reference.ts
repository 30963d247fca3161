/**
 * Where the reference profile comes from (REFERENCE_URI):
 * - a file: `/path/profile.json` or `file:///path/profile.json`;
 * - the model registry: `models:/<name>@<alias>` or `models:/<name>/<version>`, resolved like serving does,
 *   the profile being the file REFERENCE_ARTIFACT_PATH (default `reference_profile.json`) in that model
 *   version's artifact directory, read through MLflow's artifact proxy.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { MlflowClient, parseModelUri } from "@mlops/common";
import { parseProfile, type Profile } from "../profile/schema";

export interface LoadedReference {
  profile: Profile;
  /** What was loaded: the file, or models:/name/version (the alias resolved). */
  resolvedUri: string;
  /** The registry version when it came from MLflow. */
  version?: string;
}

export const isRegistryUri = (uri: string) => uri.startsWith("models:/");

export async function loadReference(uri: string, opts: { mlflow?: MlflowClient; artifactPath: string }): Promise<LoadedReference> {
  if (isRegistryUri(uri)) {
    if (!opts.mlflow) throw new Error(`REFERENCE_URI ${uri} needs MLFLOW_TRACKING_URI`);
    const ref = parseModelUri(uri);
    const version = await opts.mlflow.resolve(ref);
    const artifactUri = await opts.mlflow.getDownloadUri(version.name, version.version);
    const bytes = await opts.mlflow.readArtifact(artifactUri, opts.artifactPath);
    const resolvedUri = `models:/${version.name}/${version.version}`;
    return { profile: parseJson(bytes, `${opts.artifactPath} of ${resolvedUri}`), resolvedUri, version: version.version };
  }
  const path = uri.startsWith("file:") ? fileURLToPath(uri) : uri;
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new Error(`cannot read the reference profile ${path}: ${(err as Error).message}`);
  }
  return { profile: parseJson(bytes, path), resolvedUri: path };
}

function parseJson(bytes: Buffer, source: string): Profile {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new Error(`${source} is not valid JSON: ${(err as Error).message}`);
  }
  return parseProfile(doc, source);
}
