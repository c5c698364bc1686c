import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The JSON report feeds scripts/test-summary.mjs (the closing line CI reads).
    reporters: ['default', 'json'],
    outputFile: { json: 'node_modules/.cache/nemoclaw/vitest-report.json' },
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/isolated-home.ts'],
    pool: 'forks',
    maxWorkers: 2,
  },
});
