/**
 * Jest runs TypeScript through ts-jest in transpile-only mode (isolatedModules); `tsc --noEmit` type-checks
 * once for the whole repo. ESM-only middy is let through the transform and compiled to CommonJS.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: { module: 'commonjs', isolatedModules: true, allowJs: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  testTimeout: 120000,
  // Two workers even on two cores (Jest's default there is one): much of the suite waits on child processes
  // (XGBoost, the demo, Chromium), so the second core is otherwise idle. Measured on 2 cores: 505 s against 751 s.
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
