// Turns librdkafka's asynchronous commits into promises that settle when the broker answered:
// librdkafka reports every commit's outcome through the client's offset_commit_cb (delivered by
// its consume calls), with the offsets it committed. A commit with no answer within the timeout
// (the client closed meanwhile) is failed: a commit is never taken as done on hope.
import type { TopicPartitionOffset } from "@confluentinc/kafka-javascript";

const NO_ANSWER_MS = 30_000;

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A commit the broker refused, or that got no answer (rebalance, closed client, outage). */
export class CommitFailedError extends Error {
  override readonly name = "CommitFailedError";
}

export class CommitAcknowledgements {
  // "topic/partition/offset" -> commits waiting for the broker's answer
  private readonly pending = new Map<string, Pending[]>();

  /**
   * Sends a commit with `send` (the client's asynchronous commit); resolves once the broker
   * confirmed every offset of it, rejects when it refused it (a rebalance cut it, the member left
   * the group), never answered, or the client would not send it. The caller retries.
   */
  commit(offsets: TopicPartitionOffset[], send: (offsets: TopicPartitionOffset[]) => void): Promise<void> {
    if (offsets.length === 0) return Promise.resolve();
    const answered = Promise.all(offsets.map((offset) => this.track(keyOf(offset)))).then(() => undefined);
    try {
      send(offsets);
    } catch (error) {
      this.answered(error ?? new Error("not sent"), offsets);
    }
    return answered;
  }

  /** The offset_commit_cb: settles the commits it answers. */
  answered(error: unknown, offsets: readonly TopicPartitionOffset[] | undefined): void {
    for (const offset of offsets ?? []) {
      const key = keyOf(offset);
      const waiting = this.pending.get(key)?.shift();
      if (this.pending.get(key)?.length === 0) this.pending.delete(key);
      if (!waiting) continue;
      if (error) waiting.reject(new CommitFailedError(`the broker refused the commit: ${describe(error)}`));
      else waiting.resolve();
    }
  }

  /** Fails everything still waiting (the client is closing). */
  failAll(reason: string): void {
    const waiting = [...this.pending.values()].flat();
    this.pending.clear();
    for (const commit of waiting) commit.reject(new CommitFailedError(reason));
  }

  private track(key: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const list = this.pending.get(key);
        const index = list?.indexOf(entry) ?? -1;
        if (list && index >= 0) list.splice(index, 1);
        if (list?.length === 0) this.pending.delete(key);
        reject(new CommitFailedError(`no answer from the broker within ${NO_ANSWER_MS} ms`));
      }, NO_ANSWER_MS);
      timer.unref();
      const entry: Pending = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const list = this.pending.get(key);
      if (list) list.push(entry);
      else this.pending.set(key, [entry]);
    });
  }
}

function keyOf({ topic, partition, offset }: TopicPartitionOffset): string {
  return `${topic}/${partition}/${offset}`;
}

function describe(error: unknown): string {
  if (typeof error === "number") return `librdkafka error ${error}`;
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message : String(error);
}
