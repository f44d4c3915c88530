const { existsSync, readFileSync } = require('node:fs');
const { dirname, join } = require('node:path');

/** The pipeline's own tests: the folder of the module `hindsight:pipeline` names in cdk.json. */
function pipelineRoots() {
  const context = JSON.parse(readFileSync(join(__dirname, 'cdk.json'), 'utf8')).context ?? {};
  const entry = context['hindsight:pipeline'];
  const folder = typeof entry === 'string' ? join(__dirname, dirname(entry)) : undefined;
  return folder !== undefined && existsSync(folder) ? [folder] : [];
}

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // The framework's tests, and the pipeline's own (in this repository, the orders example's).
  roots: ['<rootDir>/test', ...pipelineRoots()],
  testMatch: ['**/*.test.ts'],
  // The compiled package (dist/) and a standalone example's own install are not the framework's.
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/examples/[^/]+/node_modules/'],
  transform: {
    // Type checking is `npm run lint`'s job; tests only transpile, which keeps them fast.
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }],
  },
  moduleNameMapper: {
    // The package's own name, as stage code imports it (Node resolves it by package.json "exports").
    '^hindsight$': '<rootDir>/lambdas/engine/index.ts',
    '^hindsight/cdk$': '<rootDir>/lib/index.ts',
    '^hindsight/testing$': '<rootDir>/local/test-kit.ts',
    // The deployed pipeline the Lambda entry points import; handler tests load the meters fixture.
    '^hindsight-configured-pipeline$': '<rootDir>/test/fixtures/pipelines/meters/index.ts',
  },
  // Database suites open PGlite and a real server; keep them off each other's CPU on 2 cores.
  maxWorkers: 2,
  // Minute-long suites first, so that none runs alone at the end (see the file).
  testSequencer: '<rootDir>/test/support/slow-first-sequencer.js',
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // A guard against hangs, not a speed check: shared 2-core machines can be slow.
  testTimeout: 600_000,
};
