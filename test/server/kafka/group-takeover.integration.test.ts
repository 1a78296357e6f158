// Two real pa processes sharing the processing of one topic (SHARE_PROCESSING, one KAFKA_GROUP_ID):
// what the other instance sees when one stops. A clean shutdown (SIGTERM) leaves the group as it
// closes (librdkafka's consumer close sends LeaveGroup: pa sets no group.instance.id), so the
// group has one member as soon as the process has exited and the partitions move at once. A
// SIGKILL leaves nothing: the dead member stays in the group until its session times out, and its
// partitions are processed by nobody meanwhile. The time each costs is printed, not asserted.
import { randomBytes } from "node:crypto";
import { KafkaJS } from "@confluentinc/kafka-javascript";
import { afterAll, describe, expect, inject, it } from "vitest";
import { freePort, type PaProcess, startPaProcess } from "../../cli/pa-process.js";
import { createTopics, uniqueTopic } from "../../support/kafka.js";
import { waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");
const postgresUrl = inject("postgresUrl");
const PARTITIONS = 6;
const started: PaProcess[] = [];

afterAll(async () => {
  await Promise.all(started.map((pa) => pa.stop().catch(() => undefined)));
});

/** The partitions of `topic` an instance processes, from its `[GROUP]` log lines so far. */
function processed(pa: PaProcess, topic: string): number[] {
  const owned = new Set<number>();
  for (const line of pa.output().split("\n")) {
    if (!line.startsWith("{")) continue;
    const msg = String((JSON.parse(line) as { msg?: unknown }).msg ?? "");
    const gained = msg.match(/^\[GROUP\] This instance now processes (\S+) partitions ([\d, ]+)$/);
    const lost = msg.match(/^\[GROUP\] (\S+) partitions ([\d, ]+) (?:moved|went) to another instance$/);
    const match = gained ?? lost;
    if (!match || match[1] !== topic) continue;
    for (const partition of (match[2] ?? "").split(", ").map(Number)) {
      if (gained) owned.add(partition);
      else owned.delete(partition);
    }
  }
  return [...owned].sort((a, b) => a - b);
}

async function groupMembers(groupId: string): Promise<{ members: number; state: string }> {
  const admin = new KafkaJS.Kafka({
    kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.NOTHING },
  }).admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    return { members: group?.members.length ?? 0, state: String(group?.state ?? "") };
  } finally {
    await admin.disconnect();
  }
}

/** A and B in one group, each processing half of a fresh 6-partition topic. */
async function twoInstances(label: string) {
  const topic = uniqueTopic(label);
  await createTopics(bootstrap, [topic], PARTITIONS);
  const groupId = `test-takeover-${randomBytes(4).toString("hex")}`;
  const env = {
    KAFKA_BROKERS: bootstrap,
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: groupId,
    SHARE_PROCESSING: "true",
    DATABASE_URL: postgresUrl,
  };
  const a = await startPaProcess(await freePort(), env);
  started.push(a);
  await waitUntil(
    () => processed(a, topic).length === PARTITIONS,
    60_000,
    () => a.output(),
  );
  const b = await startPaProcess(await freePort(), env);
  started.push(b);
  await waitUntil(
    () =>
      processed(a, topic).length + processed(b, topic).length === PARTITIONS &&
      processed(b, topic).length > 0,
    60_000,
    () => `A ${processed(a, topic)} B ${processed(b, topic)}`,
  );
  expect([...processed(a, topic), ...processed(b, topic)].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  expect((await groupMembers(groupId)).members).toBe(2);
  return { topic, groupId, a, b, ofA: processed(a, topic) };
}

describe("takeover between two pa instances sharing a topic", () => {
  it("SIGTERM: the instance leaves the group as it exits, and the other gets its partitions at once", async () => {
    const { topic, groupId, a, b, ofA } = await twoInstances("takeover-term");
    const stoppedAt = Date.now();
    expect(await a.stop()).toBe(0);
    const exitedAt = Date.now();
    // Left, not timed out: the group no longer counts A the moment its process is gone (a member
    // that just stopped heartbeating stays listed for session.timeout.ms, see the SIGKILL case).
    expect((await groupMembers(groupId)).members).toBe(1);
    await waitUntil(
      () => processed(b, topic).length === PARTITIONS,
      60_000,
      () => b.output(),
    );
    expect(processed(b, topic)).toEqual(expect.arrayContaining(ofA));
    console.info(
      `SIGTERM: A exited ${exitedAt - stoppedAt} ms after the signal; B processed A's partitions ${ofA.join(", ")} ${Date.now() - stoppedAt} ms after it`,
    );
  }, 240_000);

  it("SIGKILL: the dead instance stays a member until its session times out, then the other takes over", async () => {
    const { topic, groupId, a, b, ofA } = await twoInstances("takeover-kill");
    const killedAt = Date.now();
    a.child.kill("SIGKILL");
    await new Promise((resolve) => a.child.once("exit", resolve));
    expect((await groupMembers(groupId)).members).toBe(2);
    expect(processed(b, topic)).not.toEqual(expect.arrayContaining(ofA));
    await waitUntil(
      () => processed(b, topic).length === PARTITIONS,
      60_000,
      () => b.output(),
    );
    const tookOverAt = Date.now();
    expect((await groupMembers(groupId)).members).toBe(1);
    console.info(
      `SIGKILL: B processed A's partitions ${ofA.join(", ")} ${tookOverAt - killedAt} ms after the kill (KAFKA_SESSION_TIMEOUT, default 6 s)`,
    );
  }, 240_000);
});
