// Two real pa processes sharing the processing of one topic (SHARE_PROCESSING, one KAFKA_GROUP_ID):
// what the other instance sees when one stops. A clean shutdown (SIGTERM) leaves the group as it
// closes (librdkafka's consumer close sends LeaveGroup: pa sets no group.instance.id), so the
// group has one member as soon as the process has exited and the partitions move at once. A
// SIGKILL leaves nothing: the dead member stays in the group until its session times out, and its
// partitions are processed by nobody meanwhile. A frozen instance (SIGSTOP: no heartbeat, no
// LeaveGroup) is the same to the group, and the other instance reports the partitions nobody
// processes in /readyz, GetTopics and /metrics until the group moves them. The time each costs is
// printed, not asserted.
import { randomBytes } from "node:crypto";
import { KafkaJS } from "@confluentinc/kafka-javascript";
import { afterAll, describe, expect, inject, it } from "vitest";
import { freePort, type PaProcess, startPaProcess } from "../../cli/pa-process.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, uniqueTopic } from "../../support/kafka.js";
import { isolatedPostgres } from "../../support/postgres-schema.js";
import { parsePrometheusText, sampleValue } from "../../support/prometheus-text.js";
import { waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");
const postgresUrl = inject("postgresUrl");
const PARTITIONS = 6;
const started: PaProcess[] = [];
const schemas: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const pa of started) pa.child.kill("SIGCONT");
  await Promise.all(started.map((pa) => pa.stop().catch(() => undefined)));
  await Promise.all(schemas.map((drop) => drop().catch(() => undefined)));
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
  const database = isolatedPostgres(postgresUrl, label);
  await database.create();
  schemas.push(database.drop);
  const env = {
    KAFKA_BROKERS: bootstrap,
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: groupId,
    SHARE_PROCESSING: "true",
    DATABASE_URL: database.url,
  };
  const a = await startPaProcess(await freePort(), env);
  started.push(a);
  await waitUntil(
    () => processed(a, topic).length === PARTITIONS,
    60_000,
    () => a.output(),
  );
  const bPort = await freePort();
  const b = await startPaProcess(bPort, env);
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
  return { topic, groupId, a, b, bUrl: `http://127.0.0.1:${bPort}`, ofA: processed(a, topic) };
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

  it("SIGSTOP: the other instance reports the frozen one's partitions as processed by nobody until the group moves them", async () => {
    const { topic, a, b, bUrl, ofA } = await twoInstances("takeover-stop");
    const producer = new KafkaJS.Kafka({
      kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.NOTHING },
    }).producer();
    await producer.connect();
    // A payment on every partition every 200 ms: records keep waiting on the frozen one's partitions.
    let sent = 0;
    const trickle = setInterval(() => {
      const messages = Array.from({ length: PARTITIONS }, (_, partition) => {
        const id = `${topic}_${sent++}`;
        const value = JSON.stringify({
          id,
          provider: "stripe",
          amount: 100,
          currency: "usd",
          status: "succeeded",
        });
        return { partition, key: id, value };
      });
      void producer.send({ topic, messages }).catch(() => undefined);
    }, 200);
    const unprocessed = async () => {
      const body = (await (await fetch(`${bUrl}/readyz`)).json()) as {
        unprocessedPartitions?: Record<
          string,
          { partition: number; assignedTo: string; committed: number; end: number }[]
        >;
      };
      return body.unprocessedPartitions?.[topic] ?? [];
    };
    const frozenAt = Date.now();
    a.child.kill("SIGSTOP");
    try {
      await waitUntil(
        async () => (await unprocessed()).map(({ partition }) => partition).join() === ofA.join(),
        60_000,
        () => `B's /readyz: ${JSON.stringify(b.output().split("\n").slice(-5))}`,
      );
      const reportedAt = Date.now();
      for (const partition of await unprocessed()) {
        // Named as the group describes A: its client.id carries its host name and process id.
        expect(partition.assignedTo).toMatch(new RegExp(`^pa-.+-${a.child.pid} at `));
        expect(partition.end).toBeGreaterThan(partition.committed);
      }
      const status = (await grpcClient(bUrl).getTopics({})).details.find((s) => s.topic === topic);
      expect(status?.unprocessedPartitions.map(({ partition }) => partition) ?? []).toEqual(
        expect.arrayContaining(ofA),
      );
      const metrics = parsePrometheusText(await (await fetch(`${bUrl}/metrics`)).text());
      expect(sampleValue(metrics, "pa_unprocessed_partitions", { topic })).toBeGreaterThan(0);
      expect(b.output()).toMatch(/\[GROUP\] Nobody processes .* partition \d+: \d+ records wait/);

      // The group gives up on A after its session timeout; B processes and commits them, and says so.
      await waitUntil(
        () => processed(b, topic).length === PARTITIONS,
        60_000,
        () => b.output(),
      );
      await waitUntil(
        async () => (await unprocessed()).length === 0,
        30_000,
        () => b.output(),
      );
      const status2 = (await grpcClient(bUrl).getTopics({})).details.find((s) => s.topic === topic);
      expect(status2?.unprocessedPartitions).toEqual([]);
      console.info(
        `SIGSTOP: B reported A's partitions ${ofA.join(", ")} as processed by nobody ${reportedAt - frozenAt} ms after A froze, and processed them ${Date.now() - frozenAt} ms after it`,
      );
    } finally {
      a.child.kill("SIGCONT");
      clearInterval(trickle);
      await producer.disconnect();
    }
    // Thawed after the takeover, A finds its session gone and rejoins the group; stopped while it
    // rejoins (librdkafka's close then met an assignment it could not apply, and waited forever),
    // it still stops cleanly.
    await waitUntil(
      () => /\[GROUP\] Lost \S+ partitions [\d, ]+ \(session expired\)/.test(a.output()),
      30_000,
      () => a.output(),
    );
    expect(await a.stop(), a.output()).toBe(0);
  }, 240_000);
});
