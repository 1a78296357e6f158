// Two pa instances' seats in one consumer group, against the real broker: they split a topic's
// partitions, a leaving instance's partitions move to the one that stays (after it committed what
// it processed), and commits made through the membership are the group's.
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, inject, it } from "vitest";
import { ConsumerFactory } from "../../../server/kafka/consumer-factory.js";
import { GroupMembership, type OwnershipListener } from "../../../server/kafka/group-membership.js";
import { createLogger } from "../../../server/observability/logger.js";
import { createTopics, uniqueTopic } from "../../support/kafka.js";
import { waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");
const logger = createLogger({ level: "silent", format: "json" });
const started: GroupMembership[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((membership) => membership.stop().catch(() => undefined)));
});

function member(groupId: string, topic: string): GroupMembership {
  const membership = new GroupMembership(
    new ConsumerFactory({ "bootstrap.servers": bootstrap }, groupId),
    [topic],
    { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000, memberName: `pa-test-${started.length}` },
    logger,
  );
  started.push(membership);
  return membership;
}

/** Records what a feed would hear. */
function recorder() {
  const assigned = new Map<number, number>();
  const revoked: number[] = [];
  const released: number[] = [];
  const listener: OwnershipListener = {
    assigned: (partitions) => {
      for (const { partition, committed } of partitions) assigned.set(partition, committed);
    },
    revoked: (partitions) => revoked.push(...partitions),
    released: (partitions) => released.push(...partitions),
  };
  return { assigned, revoked, released, listener };
}

describe("GroupMembership", () => {
  it("splits a topic's partitions between instances and hands them over when one leaves", async () => {
    const topic = uniqueTopic("group-split");
    await createTopics(bootstrap, [topic], 4);
    const groupId = `test-group-${randomBytes(4).toString("hex")}`;

    const first = member(groupId, topic);
    const heardByFirst = recorder();
    first.listen(topic, heardByFirst.listener);
    await first.connect();
    await waitUntil(() => first.ownedPartitions(topic).length === 4, 30_000);
    // Announced once the group's committed offsets are read (asynchronously).
    await waitUntil(() => heardByFirst.assigned.size === 4, 10_000);
    expect([...heardByFirst.assigned.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect(heardByFirst.assigned.get(0)).toBeLessThan(0); // nothing committed yet

    // The first instance processed up to offset 7 on partition 0 and commits it as a member.
    first.commitSync([{ topic, partition: 0, offset: 7 }]);

    const second = member(groupId, topic);
    const heardBySecond = recorder();
    second.listen(topic, heardBySecond.listener);
    await second.connect();
    await waitUntil(
      () => first.ownedPartitions(topic).length === 2 && second.ownedPartitions(topic).length === 2,
      30_000,
    );
    // Disjoint and complete: every partition processed by exactly one instance.
    expect([...first.ownedPartitions(topic), ...second.ownedPartitions(topic)].sort()).toEqual([0, 1, 2, 3]);
    expect(heardByFirst.revoked.sort()).toEqual(second.ownedPartitions(topic));

    // The one that stays takes everything back, with the committed offsets.
    const stays = first.owns(topic, 0) ? first : second;
    const leaves = stays === first ? second : first;
    const heardByStayer = stays === first ? heardByFirst : heardBySecond;
    await leaves.stop();
    started.splice(started.indexOf(leaves), 1);
    await waitUntil(() => stays.ownedPartitions(topic).length === 4, 30_000);
    await waitUntil(() => heardByStayer.assigned.size === 4, 10_000);
    expect(heardByStayer.assigned.get(0)).toBe(7);
    // Handed over in orderly rebalances: nothing was lost and released.
    expect([...heardByFirst.released, ...heardBySecond.released]).toEqual([]);
  });
});
