/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // Type-checking happens once in `npm run typecheck`; tsconfig sets isolatedModules, so ts-jest only transpiles
  // (a type-checking ts-jest spends ~14 s and 1.8 GB per file on the provider typings).
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }],
  },
  setupFilesAfterEnv: ["<rootDir>/test/setup.ts"],
  testTimeout: 60000,
};
