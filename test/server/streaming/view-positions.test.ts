// The view's bookkeeping across take-overs, hand-overs and commits, without a broker: what a
// rebalance may do to work in flight, and what a failed commit leaves behind.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ViewPositions } from "../../../server/streaming/view-positions.js";

describe("ViewPositions", () => {
  it("starts an assigned partition's view at the group's committed offset, not where streams got to", () => {
    const positions = new ViewPositions([0, 0], true);
    expect(positions.owns(0)).toBe(false);
    positions.assign(0, 637, 2411);
    expect(positions.stored(0)).toBe(637);
    expect(positions.queued(0)).toBe(637);
    // Nothing committed yet: from the fallback (where the feed began), committed with the first commit.
    positions.assign(1, -1001, 5);
    expect(positions.stored(1)).toBe(5);
    expect(positions.takeDueCommits().map(({ partition, offset }) => [partition, offset])).toEqual([[1, 5]]);
  });

  it("never commits past unprocessed offsets after a batch in flight had its partition revoked", () => {
    const positions = new ViewPositions([0], true);
    positions.assign(0, 100, 0);
    const epoch = positions.queue(0, 150);
    // Handed to the view is not stored: nothing to commit yet.
    expect(positions.takeDueCommits()).toEqual([]);
    // Revoked while the batch 100..149 is being written: the hand-over commits what is stored.
    expect(positions.revoke(0)).toBeUndefined();
    positions.markStored(0, 150, epoch);
    expect(positions.takeDueCommits()).toEqual([]);
    // Taken back later: the view starts at the group's commit then, and the old write moves nothing.
    positions.assign(0, 120, 0);
    positions.markStored(0, 150, epoch);
    expect(positions.stored(0)).toBe(120);
    expect(positions.takeDueCommits()).toEqual([]);
  });

  it("hands over the stored position and drops commits begun before the revoke", () => {
    const positions = new ViewPositions([0], true);
    positions.assign(0, 10, 0);
    positions.markStored(0, 20, positions.queue(0, 20));
    const [due] = positions.takeDueCommits();
    expect(due).toMatchObject({ partition: 0, offset: 20 });
    positions.markStored(0, 30, positions.queue(0, 30));
    expect(positions.revoke(0)).toMatchObject({ partition: 0, offset: 30 });
    // The answer to the commit sent before the revoke arrives late: it changes nothing any more.
    expect(positions.failed(due ? [due] : [])).toEqual([]);
    expect(positions.owns(0)).toBe(false);
    expect(positions.takeDueCommits()).toEqual([]);
  });

  it("retries a failed commit on an idle partition and logs the first failure of a run once", () => {
    const positions = new ViewPositions([0, 0], false);
    positions.markStored(0, 40, positions.queue(0, 40));
    const first = positions.takeDueCommits();
    expect(first.map(({ offset }) => offset)).toEqual([40]);
    // One commit per partition at a time.
    expect(positions.takeDueCommits()).toEqual([]);
    expect(positions.failed(first)).toEqual([{ partition: 0, offset: 40 }]);
    expect(positions.commitLag()).toBe(40);
    // Nothing new was stored (idle), yet the same offset is due again.
    const again = positions.takeDueCommits();
    expect(again.map(({ offset }) => offset)).toEqual([40]);
    expect(positions.failed(again)).toEqual([]);
    const third = positions.takeDueCommits();
    expect(positions.acknowledge(third)).toEqual([expect.objectContaining({ partition: 0, offset: 40 })]);
    expect(positions.takeDueCommits()).toEqual([]);
    expect(positions.commitLag()).toBe(0);
  });

  it("records a commit as done only when the broker confirmed it", () => {
    const positions = new ViewPositions([5], false);
    positions.markStored(0, 9, positions.queue(0, 9));
    const due = positions.takeDueCommits();
    expect(positions.commitLag()).toBe(4);
    positions.acknowledge(due);
    expect(positions.commitLag()).toBe(0);
  });

  it("lost partitions (an expired session) are neither committed nor moved by late writes", () => {
    const positions = new ViewPositions([0, 0], true);
    positions.assign(0, 0, 0);
    positions.assign(1, 0, 0);
    const epoch = positions.queue(1, 8);
    positions.release(1);
    positions.markStored(1, 8, epoch);
    expect(positions.takeDueCommits().map(({ partition }) => partition)).toEqual([]);
    expect(positions.ownedPartitions()).toEqual([0]);
  });

  it("whatever the order of writes, rebalances and commit answers, no commit passes an offset the view did not store in its epoch", () => {
    type Step =
      | { kind: "queue"; partition: number; count: number }
      | { kind: "store" }
      | { kind: "assign"; partition: number }
      | { kind: "revoke"; partition: number }
      | { kind: "commit" }
      | { kind: "answer"; ok: boolean };
    const partition = fc.integer({ min: 0, max: 2 });
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant("queue" as const), partition, count: fc.integer({ min: 1, max: 20 }) }),
      fc.record({ kind: fc.constant("store" as const) }),
      fc.record({ kind: fc.constant("assign" as const), partition }),
      fc.record({ kind: fc.constant("revoke" as const), partition }),
      fc.record({ kind: fc.constant("commit" as const) }),
      fc.record({ kind: fc.constant("answer" as const), ok: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        const positions = new ViewPositions([0, 0, 0], true);
        // A model of the world: the group's committed offsets, the view writes in flight (one chain,
        // in order), and how far the store holds each partition without a gap.
        const groupCommitted = [0, 0, 0];
        const writes: { partition: number; from: number; end: number; epoch: number }[] = [];
        const storedContiguous = [0, 0, 0];
        const commits: ReturnType<ViewPositions["takeDueCommits"]>[] = [];
        for (const s of steps) {
          if (s.kind === "assign" && !positions.owns(s.partition)) {
            positions.assign(s.partition, groupCommitted[s.partition] ?? 0, 0);
          } else if (s.kind === "revoke") {
            const final = positions.revoke(s.partition);
            if (final) groupCommitted[s.partition] = final.offset;
          } else if (s.kind === "queue" && positions.owns(s.partition)) {
            const from = positions.queued(s.partition);
            const end = from + s.count;
            writes.push({ partition: s.partition, from, end, epoch: positions.queue(s.partition, end) });
          } else if (s.kind === "store") {
            const write = writes.shift();
            if (!write) continue;
            if (write.from <= (storedContiguous[write.partition] ?? 0))
              storedContiguous[write.partition] = Math.max(storedContiguous[write.partition] ?? 0, write.end);
            positions.markStored(write.partition, write.end, write.epoch);
          } else if (s.kind === "commit") {
            const due = positions.takeDueCommits();
            if (due.length > 0) commits.push(due);
          } else if (s.kind === "answer") {
            const due = commits.shift();
            if (!due) continue;
            if (s.ok) {
              // The broker takes a commit from a member whatever its partitions (same generation).
              for (const commit of due) groupCommitted[commit.partition] = commit.offset;
              positions.acknowledge(due);
            } else positions.failed(due);
          }
          for (let p = 0; p < 3; p++) {
            expect(groupCommitted[p]).toBeLessThanOrEqual(storedContiguous[p] ?? 0);
            if (positions.owns(p)) expect(positions.stored(p)).toBeLessThanOrEqual(storedContiguous[p] ?? 0);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
