/**
 * Runs the serving service from its TypeScript sources, as `node dist/main.js` would run the build, so
 * tests can send real signals to a real process without a build first. `@mlops/common` resolves to
 * services/common/src, as jest's moduleNameMapper does in-process.
 */
const path = require("node:path");
const Module = require("node:module");

const root = path.resolve(__dirname, "../../..");
require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolve.call(this, request === "@mlops/common" ? path.join(root, "services/common/src/index.ts") : request, ...rest);
};
require(path.join(root, "services/serving/src/main.ts"));
