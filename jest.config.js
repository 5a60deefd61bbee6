/**
 * jest: TypeScript tests under test/, run against the library sources in lib/ (dist/ for the .d.ts,
 * README and notebook checks), in two projects split by cost:
 *   unit  unit and golden tests (numerics on every backend, error messages, formats): the edit loop,
 *         `npm run test:unit`, a few minutes on 2 cores;
 *   e2e   end-to-end runs: the quick bench, the quick reproduce, the 300-update learning run,
 *         notebooks, the built package (README example, .d.ts under TypeScript 5.0), and the
 *         interop tests that drive Python (`*.e2e.test.ts`).
 * `npm test` runs both (what CI and the README run).
 */
// Mesa reads EGL_PLATFORM with getenv when Dawn opens OpenGL ES (the webgpu backend on a machine
// without a GPU); jest's sandboxed process.env does not reach it, so set it here, where the workers
// inherit it: a headless machine has no display, and surfaceless needs none (lib/backend/webgpu.ts).
if (!process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';

const E2E = [
  '<rootDir>/test/**/*.e2e.test.ts',
  '<rootDir>/test/bench/bench.test.ts',
  '<rootDir>/test/experiments/reproduce.test.ts',
  '<rootDir>/test/train/learn.test.ts',
  '<rootDir>/test/notebooks/notebooks.test.ts',
  '<rootDir>/test/notebooks/runner.test.ts',
  '<rootDir>/test/package/readme.test.ts',
  '<rootDir>/test/package/dts.test.ts',
  '<rootDir>/test/package/exports.test.ts',
  '<rootDir>/test/package/docs.test.ts',
];

const common = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }] },
  setupFilesAfterEnv: ['<rootDir>/test/setup.ts'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/build/', '<rootDir>/node_modules/longlora-ts/'],
  testTimeout: 120000,
};

module.exports = {
  testTimeout: 120000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/**/*.test.ts'], testPathIgnorePatterns: ['\\.e2e\\.test\\.ts$', '/test/backend/webgpu', ...E2E.slice(1).map((p) => p.replace('<rootDir>/', '/'))] },
    { ...common, displayName: 'e2e', testMatch: E2E },
    // Dawn (the webgpu backend's native module) outlives a test file's module registry; on 2 cores jest
    // runs files in one process, and a later file crashed when Dawn's leftovers were collected
    // (segmentation fault in CI). So the webgpu suites run in a jest process of their own
    // (`npm run test:webgpu`, part of `npm test`).
    { ...common, displayName: 'webgpu', testMatch: ['<rootDir>/test/backend/webgpu*.test.ts'] },
  ],
};
