import { createServiceApp, type Logger, type RequestHandler, type ServiceApp, type ServiceRequest, type ServiceResponse } from "@mlops/common";
import type { ApiKeys } from "../auth";
import type { DataPlane, Target } from "../data-plane";
import { modelMetadata } from "../protocols/v2";
import { modelNotFound } from "./errors";

export interface ControlRoutesOptions {
  plane: DataPlane;
  keys?: ApiKeys;
  logger: Logger;
  maxBodyBytes: number;
  /** Ready: the champion serves and the service is not draining. */
  isReady(): boolean;
}

const SERVER_METADATA = { name: "mlops-serving", version: "0.1.0", extensions: ["binary_tensor_data"] };

/**
 * Everything but inference, on the platform's express builder (request ids, 404 / 405 with `Allow`,
 * `{"error", "code"}` bodies, request log lines):
 *
 *   GET /v2, /v2/health/live, /v2/health/ready             Open Inference Protocol server metadata and health
 *   GET /v2/models/<m>[/versions/<v>][/ready]              model metadata and readiness (API key when keys are on)
 *   GET /ping, /health                                     MLflow's scoring server probes (a bare newline)
 *   GET /v1/models, /v1/models/<m>                         KServe v1 listing and model status (API key)
 *
 * (`/health/live` and `/health/ready` are startService's, in front of every handler.)
 */
export function createControlRoutes(opts: ControlRoutesOptions): ServiceApp {
  const { plane, keys } = opts;
  const modelName = plane.modelName;

  const authenticate: RequestHandler = (req, _res, next) => {
    if (keys) keys.authorize(req.headers.authorization);
    next();
  };
  /** The model named in the path must be the one served. */
  const thisModel: RequestHandler = (req, _res, next) => {
    const name = String(req.params.name);
    if (name !== modelName) throw modelNotFound(name, modelName);
    next();
  };
  const named = (res: ServiceResponse, target: Target) => res.set({ "x-model-name": modelName, "x-model-version": target.model.version, "x-model-variant": target.variant });
  const versionOf = (req: ServiceRequest) => (req.params.version === undefined ? undefined : String(req.params.version));

  const metadata: RequestHandler = (req, res) => {
    const target = plane.describe(versionOf(req));
    const { model } = target;
    named(res, target).json(modelMetadata(model.signature, { variant: target.variant, versions: plane.servedVersions(), sha256: model.sha256 }));
  };
  const modelReady: RequestHandler = (req, res) => {
    const target = plane.describe(versionOf(req));
    named(res, target).json({ name: modelName, version: target.model.version, ready: true });
  };
  // MLflow's scoring server answers its probes with a bare newline.
  const mlflowProbe: RequestHandler = (_req, res) => void res.status(opts.isReady() ? 200 : 503).type("text/plain").send("\n");

  const api = createServiceApp({ name: "serving", logger: opts.logger, bodyLimitBytes: opts.maxBodyBytes });
  return api
    .route("/v2", { get: (_req, res) => void res.json(SERVER_METADATA) })
    .route("/v2/health/live", { get: (_req, res) => void res.json({ live: true }) })
    .route("/v2/health/ready", {
      get: (_req, res) => {
        const ready = opts.isReady();
        res.status(ready ? 200 : 503).json({ ready });
      },
    })
    .route("/v2/models/:name", { get: [thisModel, authenticate, metadata] })
    .route("/v2/models/:name/ready", { get: [thisModel, authenticate, modelReady] })
    .route("/v2/models/:name/versions/:version", { get: [thisModel, authenticate, metadata] })
    .route("/v2/models/:name/versions/:version/ready", { get: [thisModel, authenticate, modelReady] })
    .route("/ping", { get: mlflowProbe })
    .route("/health", { get: mlflowProbe })
    .route("/v1/models", { get: (_req, res) => void res.json({ models: [modelName] }) })
    .route("/v1/models/:name", {
      get: [
        thisModel,
        authenticate,
        (_req, res) => {
          const target = plane.describe(undefined);
          res.json({ name: modelName, ready: true, version: target.model.version });
        },
      ],
    });
}
