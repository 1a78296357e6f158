// A commit counts as done only when librdkafka's offset_commit_cb said the broker took it.
import type { TopicPartitionOffset } from "@confluentinc/kafka-javascript";
import { describe, expect, it } from "vitest";
import { CommitAcknowledgements, CommitFailedError } from "../../../server/kafka/commit-acknowledgements.js";

const offsets = [
  { topic: "t", partition: 0, offset: 10 },
  { topic: "t", partition: 1, offset: 7 },
];
// A client's asynchronous commit takes the offsets and returns; the broker's answer comes later.
const accepted = () => {};

describe("CommitAcknowledgements", () => {
  it("resolves a commit once the broker confirmed every offset of it", async () => {
    const acks = new CommitAcknowledgements();
    const sent: TopicPartitionOffset[][] = [];
    let done = false;
    const commit = acks
      .commit(offsets, (offsets) => sent.push(offsets))
      .then(() => {
        done = true;
      });
    acks.answered(undefined, [offsets[0] as (typeof offsets)[0]]);
    await Promise.resolve();
    expect(done).toBe(false);
    acks.answered(undefined, [offsets[1] as (typeof offsets)[0]]);
    await commit;
    expect(done).toBe(true);
    expect(sent).toEqual([offsets]);
  });

  it("sends no commit for no offsets", async () => {
    const sent: TopicPartitionOffset[][] = [];
    await new CommitAcknowledgements().commit([], (offsets) => sent.push(offsets));
    expect(sent).toEqual([]);
  });

  it("rejects a commit the broker refused (a rebalance cut it), and ignores answers to commits it never tracked", async () => {
    const acks = new CommitAcknowledgements();
    const commit = acks.commit(offsets, accepted);
    acks.answered(undefined, [{ topic: "t", partition: 0, offset: 9 }]);
    acks.answered({ message: "Broker: Specified group generation id is not valid" }, offsets);
    await expect(commit).rejects.toBeInstanceOf(CommitFailedError);
    await expect(commit).rejects.toThrow(/generation id is not valid/);
  });

  it("fails what is still waiting when the client closes, and a commit the client would not send", async () => {
    const acks = new CommitAcknowledgements();
    const waiting = acks.commit(offsets, accepted);
    acks.failAll("closing");
    await expect(waiting).rejects.toThrow("closing");
    const unsent = acks.commit(offsets, () => {
      throw new Error("not connected");
    });
    await expect(unsent).rejects.toThrow(/not connected/);
  });
});
