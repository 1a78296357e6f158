import { defineConfig } from "vitest/config";

// Two depths of test, as the file names say: `*.test.ts` are unit tests of pure logic and need
// nothing running; `*.integration.test.ts` run against the real local Kafka broker and a real
// PostgreSQL server, which the global setups bring up when none is running (and stop afterwards
// only if they started them).
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
          globalSetup: ["test/support/kafka-global-setup.ts", "test/support/postgres-global-setup.ts"],
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
