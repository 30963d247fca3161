/** Jest only transpiles (tsc --noEmit type-checks once, before jest): the cloud SDKs are too heavy to type-check per file. */
module.exports = {
  testEnvironment: "<rootDir>/test/helpers/node-environment.js",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.jest.json" }] },
  moduleNameMapper: {
    "^@mlops/common$": "<rootDir>/services/common/src/index.ts",
    "^@mlops/dev-fixtures$": "<rootDir>/packages/dev-fixtures/src/index.ts",
    "^@mlops/dev-fixtures/(.*)$": "<rootDir>/packages/dev-fixtures/src/$1",
  },
  testTimeout: 120000,
  maxWorkers: 2,
};
