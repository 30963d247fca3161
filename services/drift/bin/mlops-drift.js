#!/usr/bin/env node
// The `mlops-drift` command (package.json "bin"). Committed, so that `npm ci` links it before dist/ is
// built; it runs the compiled CLI, or says how to build it.
"use strict";
const { existsSync } = require("node:fs");
const path = require("node:path");

const cli = path.join(__dirname, "..", "dist", "cli.js");
if (!existsSync(cli)) {
  process.stderr.write("mlops-drift: the drift service is not built yet (no services/drift/dist/cli.js): run `npm run build -w services/common -w services/drift` (or `npm run build`) in the repository, then try again\n");
  process.exit(2);
}
require(cli)
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
