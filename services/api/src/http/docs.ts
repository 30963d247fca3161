/**
 * `/openapi.json`, Swagger UI at `/docs` and ReDoc at `/redoc`, all under the base path and served from
 * the installed packages (swagger-ui-dist, redoc's standalone bundle): no CDN, so the docs work in a
 * cluster without egress and the browser loads no third-party script.
 */
import path from "node:path";
import type { ServiceApp } from "@mlops/common";

const swaggerDir = path.dirname(require.resolve("swagger-ui-dist/package.json"));
const redocBundle = require.resolve("redoc/bundles/redoc.standalone.js");

const page = (title: string, head: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title><meta name="viewport" content="width=device-width, initial-scale=1">${head}</head><body>${body}</body></html>`;

export function mountDocs(service: ServiceApp, basePath: string, document: Record<string, unknown>): void {
  const specUrl = `${basePath}/openapi.json`;
  const json = JSON.stringify(document);
  service.route(specUrl, { get: (_req, res) => void res.type("application/json").send(json) });
  service.route(`${basePath}/docs`, {
    get: (_req, res) =>
      void res.type("html").send(
        page(
          "MLOps platform API: Swagger UI",
          `<link rel="stylesheet" href="${basePath}/docs/assets/swagger-ui.css">`,
          `<div id="swagger-ui"></div><script src="${basePath}/docs/assets/swagger-ui-bundle.js"></script><script src="${basePath}/docs/init.js"></script>`,
        ),
      ),
  });
  // The initializer is a file of ours, not an inline script, so a strict Content-Security-Policy holds.
  service.route(`${basePath}/docs/init.js`, {
    get: (_req, res) => void res.type("application/javascript").send(`window.ui = SwaggerUIBundle({ url: ${JSON.stringify(specUrl)}, dom_id: "#swagger-ui" });`),
  });
  // Only the two files the page loads: the package also holds an index.html that fetches a sample spec.
  for (const file of ["swagger-ui.css", "swagger-ui-bundle.js"]) {
    service.route(`${basePath}/docs/assets/${file}`, { get: (_req, res) => void res.sendFile(file, { root: swaggerDir }) });
  }
  service.route(`${basePath}/redoc`, {
    get: (_req, res) =>
      void res.type("html").send(page("MLOps platform API: ReDoc", "", `<redoc spec-url="${specUrl}"></redoc><script src="${basePath}/redoc/redoc.standalone.js"></script>`)),
  });
  service.route(`${basePath}/redoc/redoc.standalone.js`, { get: (_req, res) => void res.type("application/javascript").sendFile(redocBundle) });
}
