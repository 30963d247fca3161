import type { RequestListener } from "node:http";
import { createControlRoutes } from "./control";
import { createInferenceRoutes, matchInference, type InferenceRoutesOptions } from "./inference";

export interface ApiOptions extends InferenceRoutesOptions {
  isReady(): boolean;
}

/**
 * Serving's API on PORT: the one place that decides which requests go through express.
 *
 * The control routes (health, metadata, listings, MLflow's `/ping`) are an express app of the platform's
 * builder (`createServiceApp`), like every service's API. The inference routes (`POST .../infer`,
 * `/invocations`, `...:predict`, matched by `matchInference`) bypass it, because express in front of
 * them costs most of the single-row throughput. Measured on the project's 2-core build machine (AMD
 * EPYC, Node 20, demo model): the bench's requests (wrk -t1 -c16, single-row Open Inference Protocol
 * JSON) against three servers started side by side on the same model, wrk runs interleaved 5 s each,
 * 5 rounds: the previous commit's handler, this code, and this code with the same inference handler
 * mounted as express routes (`api.route("/v2/models/:name/infer", { post: ... })`):
 *
 *   previous commit      median 19,639 req/s
 *   this fast path       median 17,999 req/s   (19,445-19,712 in the quiet rounds)
 *   behind express       median  5,071 req/s   (4,266-6,111): about 0.28 of the fast path
 *
 * Express's per-request work (its request/response prototypes, the router, the log middleware's close
 * listener) costs far more than the 5% the platform allows, so the fast path stays, here and only here.
 * It answers like the express app does (error bodies, 405 with `Allow`, 400 INVALID_PATH, request ids,
 * the request log line); http.test.ts holds both to that.
 */
export function createApiHandler(opts: ApiOptions): RequestListener {
  const control = createControlRoutes(opts).app;
  const inference = createInferenceRoutes(opts);
  return (req, res) => {
    const route = matchInference(req.url);
    if (route) inference(req, res, route);
    else control(req, res);
  };
}
