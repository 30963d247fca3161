import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { envLiteral, envSource } from "../support/kubernetes";
import { forWorkloads } from "../support/workloads";
import { asServing, ML_CONVENTION_SCHEMA, type MlConventions } from "./recognise";

/** `models:/<name>@<alias>` or `models:/<name>/<version>`: a reviewed, registered model. */
export const REGISTRY_URI = /^models:\/([^/@\s]+)(@[A-Za-z0-9_-]+|\/\d+)$/;

export const mlRegistryModelsOnly = resourceRule(
  {
    name: "ml-registry-models-only",
    description:
      "Serving loads models only from the MLflow model registry, through an alias or a version number: MODEL_URI and CHALLENGER_URI are literal models:/<name>@<alias> or models:/<name>/<version> URIs, and MODEL_URI names the model the workload says it serves. A path, a bucket URL or a runs:/ URI would bypass registration, review and lineage, and promotion (moving the champion alias) would no longer be the approval.",
    severity: "high",
    framework: platform("Model governance: only registered, approved models are served"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...ML_CONVENTION_SCHEMA } },
    remediationSteps: "Register the model in MLflow and set mlops:models[].uri (and challenger.uri) to models:/<name>@champion (or an explicit version, models:/<name>/<n>).",
  },
  forWorkloads((workload, args, report) => {
    const serving = asServing(workload.type, workload.props, args.getConfig<MlConventions>());
    if (!serving) return;
    const container = serving.main;
    if (!container) return;
    for (const variable of ["MODEL_URI", "CHALLENGER_URI"]) {
      const source = envSource(container, variable);
      if (!source) {
        if (variable === "MODEL_URI") report(`${serving.label} is a serving workload without MODEL_URI: it must load a registered model (models:/<name>@<alias>)`);
        continue;
      }
      if ("from" in source) {
        report(`${serving.label}: ${variable} comes from ${source.from}, which a policy cannot read: set it as a literal models:/ URI so the model is reviewed with the deployment`);
        continue;
      }
      const match = REGISTRY_URI.exec(source.literal);
      if (!match) {
        report(`${serving.label}: ${variable}="${source.literal}" is not a registry URI: use models:/<name>@<alias> or models:/<name>/<version>`);
        continue;
      }
      const name = envLiteral(container, "MODEL_NAME");
      if (variable === "MODEL_URI" && name && match[1] !== name) report(`${serving.label} says it serves "${name}" (MODEL_NAME) but loads "${match[1]}" (${source.literal})`);
    }
  }),
);
