import { defineConfig } from "vitest/config";

// Two depths of test, as the file names say: `*.test.ts` are unit tests of pure logic and need
// nothing running; `*.integration.test.ts` run against the real local Kafka broker, which the
// global setup brings up when none is running (and stops afterwards only if it started it).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/**/*.integration.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.integration.test.ts"],
          globalSetup: ["test/support/kafka-global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two cores and one broker: integration files run one at a time so their timings and
          // resource figures are not each other's noise.
          fileParallelism: false,
        },
      },
    ],
  },
});
