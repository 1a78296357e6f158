import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../server/config/config.js";
import { threadpoolThreadsNeeded, threadpoolWarning } from "../../../server/kafka/threadpool.js";

describe("threadpool sizing", () => {
  const config = parseConfig({
    KAFKA_TOPIC: "payments",
    SHARE_PROCESSING: "true",
    DATABASE_URL: "postgres://pa@localhost:5432/pa",
    CONSUMER_POOL_SIZE: "2",
    MAX_CATCH_UP_READERS: "8",
  });

  it("counts a thread per waiting reader plus room for other work", () => {
    // 2 pooled consumers + 1 group membership + 8 catch-up readers + 4 for everything else.
    expect(threadpoolThreadsNeeded(config)).toBe(15);
    expect(threadpoolThreadsNeeded(parseConfig({ KAFKA_TOPIC: "" }))).toBe(14);
  });

  it("warns with the setting to use when Node's default pool is too small", () => {
    expect(threadpoolWarning(config, {})).toMatch(/has 4 threads.*UV_THREADPOOL_SIZE=15/);
    expect(threadpoolWarning(config, { UV_THREADPOOL_SIZE: "8" })).toMatch(/has 8 threads/);
    expect(threadpoolWarning(config, { UV_THREADPOOL_SIZE: "16" })).toBeUndefined();
  });
});
