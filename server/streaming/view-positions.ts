// The bookkeeping of a processed topic's view, per partition, with no Kafka and no store in it: how
// far records were handed to the view (`queued`), how far the view has stored them (`stored`, what
// is committed and where processing resumes), what the broker confirmed as committed
// (`acknowledged`), and which partitions this instance processes. Every take-over and hand-over
// starts a new epoch on the partition, so a view write or a commit begun before it moves nothing
// after it: a batch in flight when its partition is revoked can never carry the commit past
// records the next owner has not processed.
//
// A commit is recorded as done only when the broker said so; one that failed (or was cut by a
// rebalance) is due again at the next commit, on an idle partition too.

/** One partition's offset to commit, with the epoch it was taken in. */
export interface DueCommit {
  partition: number;
  offset: number;
  epoch: number;
}

/** A commit failure worth a log line: the first of a run of failures on a partition. */
export interface CommitFailure {
  partition: number;
  offset: number;
}

export class ViewPositions {
  private readonly queuedNext: number[];
  private readonly storedNext: number[];
  private readonly acknowledged: number[];
  private readonly epochs: number[];
  // partition -> the offset of the commit waiting for the broker's answer
  private readonly inFlight = new Map<number, number>();
  // partition -> failed commits since its last successful one (for one log line per run)
  private readonly failing = new Map<number, number>();
  // Partitions processed here; undefined: all of them (no group shares the topic).
  private readonly owned: Set<number> | undefined;

  /**
   * `start` is where the view begins on each partition: the group's committed offsets (or where
   * KAFKA_AUTO_OFFSET_RESET put them). With `shared`, no partition is processed until assigned.
   */
  constructor(start: readonly number[], shared: boolean) {
    this.queuedNext = [...start];
    this.storedNext = [...start];
    this.acknowledged = [...start];
    this.epochs = start.map(() => 0);
    this.owned = shared ? new Set() : undefined;
  }

  get partitions(): number {
    return this.storedNext.length;
  }

  owns(partition: number): boolean {
    return this.owned ? this.owned.has(partition) : partition < this.partitions;
  }

  ownedPartitions(): number[] {
    const all = Array.from({ length: this.partitions }, (_, partition) => partition);
    return all.filter((partition) => this.owns(partition));
  }

  epoch(partition: number): number {
    return this.epochs[partition] ?? 0;
  }

  /** The offset after the last record the view stored (or dead-lettered, acknowledged). */
  stored(partition: number): number {
    return this.storedNext[partition] ?? 0;
  }

  /** The view's position on every partition (for logs). */
  storedOffsets(): number[] {
    return [...this.storedNext];
  }

  /** The offset after the last record handed to the view (stored or still in flight). */
  queued(partition: number): number {
    return this.queuedNext[partition] ?? 0;
  }

  /**
   * The group gave this instance a partition: its view starts at the group's committed offset,
   * whatever this instance's streams or readers reached; with nothing committed, at `fallback`.
   */
  assign(partition: number, committed: number, fallback: number): void {
    this.newEpoch(partition);
    this.owned?.add(partition);
    const from = committed >= 0 ? committed : fallback;
    this.queuedNext[partition] = from;
    this.storedNext[partition] = from;
    // Nothing committed: the view's start is committed with its first commit.
    this.acknowledged[partition] = committed >= 0 ? committed : -1;
  }

  /**
   * The partition moves to another instance: what to commit for it before the revoke completes
   * (undefined when nothing is left to commit). Writes and commits still in flight for it move
   * nothing from now on.
   */
  revoke(partition: number): DueCommit | undefined {
    if (!this.owns(partition)) return undefined;
    const offset = this.stored(partition);
    const due = offset >= 0 && offset !== this.acknowledged[partition];
    const epoch = this.epoch(partition);
    this.release(partition);
    return due ? { partition, offset, epoch } : undefined;
  }

  /** Lost without a hand-over (an expired session): nothing is committed for it here any more. */
  release(partition: number): void {
    this.newEpoch(partition);
    this.owned?.delete(partition);
  }

  /** Records up to `end` were handed to the view; the epoch goes with their write. */
  queue(partition: number, end: number): number {
    if (end > this.queued(partition)) this.queuedNext[partition] = end;
    return this.epoch(partition);
  }

  /** A write handed over in `epoch` is stored: the view moves, unless the partition changed hands since. */
  markStored(partition: number, end: number, epoch: number): void {
    if (epoch === this.epoch(partition) && end > this.stored(partition)) this.storedNext[partition] = end;
  }

  /** After a pause: what was queued but not stored is handed to the view again. */
  rewind(): void {
    for (let partition = 0; partition < this.partitions; partition++)
      this.queuedNext[partition] = this.stored(partition);
  }

  /** Offsets to commit now: one commit per partition at a time, on owned partitions the view moved on. */
  takeDueCommits(): DueCommit[] {
    const due: DueCommit[] = [];
    for (const partition of this.ownedPartitions()) {
      if (this.inFlight.has(partition)) continue;
      const offset = this.stored(partition);
      if (offset < 0 || offset === this.acknowledged[partition]) continue;
      this.inFlight.set(partition, offset);
      due.push({ partition, offset, epoch: this.epoch(partition) });
    }
    return due;
  }

  /** Every owned partition's final offset, whether or not a commit is in flight (stopping). */
  finalCommits(): DueCommit[] {
    return this.ownedPartitions()
      .map((partition) => ({ partition, offset: this.stored(partition), epoch: this.epoch(partition) }))
      .filter(({ partition, offset }) => offset >= 0 && offset !== this.acknowledged[partition]);
  }

  /** The broker confirmed these commits. Returns the partitions whose run of failures it ended. */
  acknowledge(commits: readonly DueCommit[]): CommitFailure[] {
    const recovered: CommitFailure[] = [];
    for (const commit of commits) {
      // A commit of an earlier epoch: the take-over or hand-over since cleared its bookkeeping.
      if (commit.epoch !== this.epoch(commit.partition)) continue;
      if (this.inFlight.get(commit.partition) === commit.offset) this.inFlight.delete(commit.partition);
      if (commit.offset > (this.acknowledged[commit.partition] ?? -1))
        this.acknowledged[commit.partition] = commit.offset;
      if (this.failing.delete(commit.partition)) recovered.push(commit);
    }
    return recovered;
  }

  /**
   * These commits failed: due again at the next commit while the partition is still processed
   * here. Returns the ones worth a log line: the first failure of a run on each partition.
   */
  failed(commits: readonly DueCommit[]): CommitFailure[] {
    const first: CommitFailure[] = [];
    for (const commit of commits) {
      if (commit.epoch !== this.epoch(commit.partition)) continue;
      if (this.inFlight.get(commit.partition) === commit.offset) this.inFlight.delete(commit.partition);
      const failures = this.failing.get(commit.partition) ?? 0;
      this.failing.set(commit.partition, failures + 1);
      if (failures === 0) first.push({ partition: commit.partition, offset: commit.offset });
    }
    return first;
  }

  /** Records the view stored that the broker has not confirmed as committed, over owned partitions. */
  commitLag(): number {
    let lag = 0;
    for (const partition of this.ownedPartitions()) {
      const acknowledged = this.acknowledged[partition] ?? -1;
      if (acknowledged >= 0) lag += Math.max(0, this.stored(partition) - acknowledged);
    }
    return lag;
  }

  private newEpoch(partition: number): void {
    this.epochs[partition] = this.epoch(partition) + 1;
    this.inFlight.delete(partition);
    this.failing.delete(partition);
  }
}
