// Keeps a SQLite writer thread running: when the thread dies (an uncaught error, an exit, the
// process running out of memory for it), a new one is started after a backoff, so the topics
// that paused for the store resume by themselves instead of waiting for pa to restart. Writes in
// flight when it died fail, and the view retries them from the first unstored record: what the
// dead thread had not committed is rolled back, and what it had committed is written again
// idempotently (an upsert of the same record changes nothing), so nothing is lost or doubled.
import { ExponentialBackoff, type IBackoff } from "cockatiel";
import type { Logger } from "../observability/logger.js";
import type { RetentionRequest, SqliteWriter } from "./sqlite-writer.js";

export interface RestartOptions {
  logger: Logger;
  /** Delays between restarts while the new threads keep dying; reset once one writes. */
  backoff?: { initialDelayMs: number; maxDelayMs: number };
}

const DEFAULT_BACKOFF = { initialDelayMs: 100, maxDelayMs: 30_000 };

export class RestartingSqliteWriter implements SqliteWriter {
  private current: SqliteWriter;
  private readonly factory: ExponentialBackoff<unknown>;
  private backoff: IBackoff<unknown> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Set from a death until a restarted thread has written: what the one log line said. */
  private downSince: { reason: string; restarts: number } | undefined;
  private stopped = false;
  private restartCount = 0;

  constructor(
    private readonly start: () => SqliteWriter,
    private readonly options: RestartOptions,
  ) {
    const { initialDelayMs, maxDelayMs } = options.backoff ?? DEFAULT_BACKOFF;
    this.factory = new ExponentialBackoff({ initialDelay: initialDelayMs, maxDelay: maxDelayMs });
    this.current = this.watch(start());
  }

  /** Threads started after a death, since the store opened. */
  get restarts(): number {
    return this.restartCount;
  }

  upsert(rows: ArrayBuffer, nowMs: number): Promise<void> {
    return this.written(this.current.upsert(rows, nowMs));
  }

  enforceRetention(request: RetentionRequest): Promise<number> {
    return this.written(this.current.enforceRetention(request));
  }

  optimize(): Promise<void> {
    return this.written(this.current.optimize());
  }

  problem(): string | undefined {
    const problem = this.current.problem();
    if (problem === undefined || this.stopped) return problem;
    return `${problem}; a new writer thread is being started`;
  }

  get ended(): Promise<void> {
    return this.current.ended;
  }

  /** Ends the current thread as a crash would (tests of the restart); a new one follows. */
  terminate(): Promise<void> {
    return this.current.terminate();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.current.stop();
  }

  private watch(writer: SqliteWriter): SqliteWriter {
    void writer.ended.then(() => this.died(writer));
    return writer;
  }

  private died(writer: SqliteWriter): void {
    if (this.stopped || writer !== this.current) return;
    const reason = writer.problem() ?? "the SQLite writer thread ended";
    this.backoff = this.backoff ? this.backoff.next(undefined) : this.factory.next();
    const delay = Math.round(this.backoff.duration);
    if (this.downSince) {
      // Said once per outage: a thread that dies again before writing is the same outage.
      this.options.logger.debug(
        `[STORE] The new SQLite writer thread died too (${reason}); next try in ${delay} ms`,
      );
    } else {
      this.downSince = { reason, restarts: this.restartCount };
      this.options.logger.error(
        { err: reason },
        `[STORE] The SQLite writer thread died (${reason}): starting a new one in ${delay} ms; writes fail until then and the topics that need the store pause, then resume from their first unstored record`,
      );
    }
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.restartCount += 1;
      this.current = this.watch(this.start());
    }, delay);
    this.restartTimer.unref();
  }

  // A write that succeeds on a restarted thread ends the outage: its log line, and the backoff.
  private async written<T>(write: Promise<T>): Promise<T> {
    const result = await write;
    if (this.downSince) {
      const { reason, restarts } = this.downSince;
      this.downSince = undefined;
      this.backoff = undefined;
      const tries = this.restartCount - restarts;
      this.options.logger.info(
        `[STORE] The SQLite writer thread writes again (${tries === 1 ? "1 restart" : `${tries} restarts`} after: ${reason})`,
      );
    }
    return result;
  }
}
