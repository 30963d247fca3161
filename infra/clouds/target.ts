import type * as pulumi from "@pulumi/pulumi";
import type { FoundationComponent, Tags } from "../../components/contracts";
import { MLFLOW_NAME, NAMESPACES } from "../../components/kubernetes/constants";
import type { EnvironmentProfile } from "../profiles";

/** Where MLflow runs: the cloud's workload identity trusts exactly this service account (the platform's namespace). */
export const MLFLOW_SERVICE_ACCOUNT = { namespace: NAMESPACES.platform, name: MLFLOW_NAME };

/** The stack's values a cloud's foundation is built from: its own settings, decided once by its module. */
export interface FoundationRequest<Settings> {
  /** `mlops-<environment>`: the base of resource names. */
  name: string;
  environment: "dev" | "prod";
  stack: string;
  settings: Settings;
  artifactPrefix: string;
  profile: EnvironmentProfile;
  tags: Tags;
  /** The DNS zone cert-manager answers ACME DNS-01 challenges in (mlops:ingress.dnsZone, with an ACME issuer): the foundation gives it an identity there. */
  dnsZone?: { name: string; id: string };
}

/** What a cloud module hands the program: the component, and the registry images are pulled from by default. */
export interface BuiltFoundation {
  component: FoundationComponent & pulumi.Resource;
  /** Known before anything is created, so image references stay plain strings the policy pack can read. */
  defaultImageRegistry: string;
}
