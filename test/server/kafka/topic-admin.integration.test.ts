// The offsets pa starts streams from, asked of the real broker the moment a topic exists: a
// partition whose leader is still being elected must not come back as offset -1 (librdkafka would
// read that as "the end, once resolved" and skip what is produced meanwhile).
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TopicAdmin } from "../../../server/kafka/topic-admin.js";
import { createTopics, uniqueTopic } from "../../support/kafka.js";

const bootstrap = inject("kafkaBootstrap");

describe("TopicAdmin.offsets", () => {
  let admin: TopicAdmin;

  beforeAll(async () => {
    admin = new TopicAdmin({ "bootstrap.servers": bootstrap });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.disconnect();
  });

  it("gives every partition of a topic created a moment ago a real offset", async () => {
    const topics = Array.from({ length: 4 }, () => uniqueTopic("fresh-offsets"));
    for (const topic of topics) {
      await createTopics(bootstrap, [topic], 12);
      const offsets = await admin.offsets(topic);
      expect(offsets).toHaveLength(12);
      expect(offsets).toEqual(Array.from({ length: 12 }, () => ({ low: 0, high: 0 })));
    }
  });
});
