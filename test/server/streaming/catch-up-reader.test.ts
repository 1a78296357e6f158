// Subscribers behind the live feed, over the in-memory record source (held to librdkafka's
// behaviour by test/server/kafka/record-source-contract.ts): a slow subscriber whose queue
// overflowed, and one that starts in the past, are read from their own offsets by a catch-up
// reader, get every record once and in order, and rejoin the shared feed.
import { afterEach, describe, expect, it } from "vitest";
import type { PaymentEvent } from "../../../gen/payment/payment_pb.js";
import { decodeStreamCursor } from "../../../server/streaming/stream-cursor.js";
import { FakeRecordSource } from "../../support/fake-record-source.js";
import { drain, offsetsOn, payments, range, StreamingCore } from "../../support/streaming-core.js";
import { waitUntil } from "../../support/streams.js";

let sources: FakeRecordSource[] = [];
afterEach(() => {
  for (const source of sources) source.close();
  sources = [];
});

function core(partitions: number, startOffsets?: number[]) {
  const source = new FakeRecordSource(undefined, { readWaitMs: 10 });
  sources.push(source);
  const topic = `t-${sources.length}`;
  source.log.createTopic(topic, partitions);
  return new StreamingCore(source, topic, { partitions, ...(startOffsets ? { startOffsets } : {}) });
}

/** Each event's cursor resumes right after it on its own partition. */
function expectCursorsAfterEachEvent(topic: string, events: readonly PaymentEvent[]): void {
  for (const event of events) {
    const positions = decodeStreamCursor(event.cursor, topic);
    expect(positions[event.partition], `cursor of ${event.partition}:${event.offset}`).toBe(
      Number(event.offset) + 1,
    );
  }
}

describe("catch-up reads over a record source", () => {
  it("reads a subscriber whose queue overflowed from where it fell behind, each record once and in order, and attaches it to the feed again", async () => {
    const c = core(2);
    const slow = c.subscribe(8);
    c.source.log.append(c.topic, payments(100, 2));
    await waitUntil(
      () => slow.lagging.size === 2,
      5_000,
      () => `lagging on ${slow.lagging.size} partitions`,
    );
    // Fell behind right after what its queue could take, nothing dropped.
    expect([...slow.lagging.values()].reduce((sum, next) => sum + next, 0)).toBe(slow.queued);

    const client = drain(slow);
    await waitUntil(
      () => client.events.length >= 100,
      5_000,
      () => `${client.events.length} of 100`,
    );
    await c.settled();
    expect(offsetsOn(client.events, 0)).toEqual(range(0, 50));
    expect(offsetsOn(client.events, 1)).toEqual(range(0, 50));
    expectCursorsAfterEachEvent(c.topic, client.events);
    expect(slow.lagging.size).toBe(0);
    expect(slow.isSimple).toBe(true);
    expect(c.source.openReaders("catch-up")).toEqual([]);

    // Back on the shared feed: what comes next (within its queue's bound) arrives live, no
    // reader is opened for it.
    const readers = c.source.readers.length;
    c.source.log.append(c.topic, payments(6, 2, 2));
    await waitUntil(
      () => client.events.length >= 106,
      5_000,
      () => `${client.events.length} of 106`,
    );
    expect(offsetsOn(client.events, 0)).toEqual(range(0, 53));
    expect(offsetsOn(client.events, 1)).toEqual(range(0, 53));
    expect(c.source.readers.length).toBe(readers);
    expect(c.failures).toEqual([]);
    slow.close();
    await client.done;
  });

  it("serves a start in the past from exactly the requested offsets, then live records, and unassigns each partition as it rejoins", async () => {
    const c = core(3, [10, 10, 10]);
    c.source.log.append(c.topic, payments(30, 3));
    const past = c.subscribe(1000, [2, 0, 10]);
    expect([...past.lagging]).toEqual([
      [0, 2],
      [1, 0],
    ]);
    // Its cursor before any event: its own offsets where it lags, the feed's elsewhere.
    expect(decodeStreamCursor(c.feed.cursorFor(past), c.topic)).toEqual([2, 0, 10]);
    c.source.log.append(c.topic, payments(9, 3, 5));
    const client = drain(past);
    await waitUntil(
      () => client.events.length >= 8 + 10 + 9,
      5_000,
      () => `${client.events.length} of 27`,
    );
    await c.settled();
    expect(offsetsOn(client.events, 0)).toEqual(range(2, 13));
    expect(offsetsOn(client.events, 1)).toEqual(range(0, 13));
    expect(offsetsOn(client.events, 2)).toEqual(range(10, 13));
    expectCursorsAfterEachEvent(c.topic, client.events);

    const [reader] = c.source.readers;
    expect(c.source.readers).toHaveLength(1);
    expect(reader?.kind).toBe("catch-up");
    expect(reader?.assigned.size).toBe(0);
    expect(reader?.isClosed).toBe(true);
    past.close();
    await client.done;
  });

  it("closes its reader when the subscriber leaves while it is behind", async () => {
    const c = core(1);
    const leaving = c.subscribe(4);
    c.source.log.append(c.topic, payments(200, 1));
    await waitUntil(() => leaving.lagging.size === 1, 5_000);
    const taken: PaymentEvent[] = [];
    await waitUntil(
      () => {
        taken.push(...leaving.take(2));
        return c.source.openReaders("catch-up").length === 1;
      },
      5_000,
      () => "a catch-up reader opened",
    );
    leaving.close();
    await c.settled();
    expect(c.source.openReaders("catch-up")).toEqual([]);
    expect(c.feed.subscribers.size).toBe(0);
    expect(offsetsOn(taken, 0)).toEqual(range(0, taken.length));
    expect(c.failures).toEqual([]);
  });

  it("serves a slow and a fast subscriber of the same feed independently: the fast one never waits", async () => {
    const c = core(2);
    const slow = c.subscribe(4);
    const fast = c.subscribe(1000);
    c.source.log.append(c.topic, payments(200, 2));
    await waitUntil(
      () => fast.queued === 200,
      5_000,
      () => `fast has ${fast.queued}`,
    );
    expect(slow.lagging.size).toBeGreaterThan(0);
    expect(fast.isSimple).toBe(true);
    const client = drain(slow);
    await waitUntil(
      () => client.events.length >= 200,
      5_000,
      () => `${client.events.length} of 200`,
    );
    await c.settled();
    expect(offsetsOn(client.events, 0)).toEqual(range(0, 100));
    expect(offsetsOn(client.events, 1)).toEqual(range(0, 100));
    slow.close();
    await client.done;
  });
});
