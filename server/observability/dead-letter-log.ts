// How dead letters show in the log: each one at info (what it was and why), and per topic at most
// one warning per window saying how many were dead-lettered since the previous one, so that a
// burst of poison records is one warning line rather than a wall of them hiding real warnings.
// The first letter after a quiet window warns at once; the rest of its burst is counted and told
// when the window ends (and at stop, so no count is lost at shutdown).
import type { Logger } from "./logger.js";

/** What the log needs of a dead letter. */
export interface LoggedDeadLetter {
  partition: number;
  offset: number;
  key: Buffer | null | undefined;
  error: string;
  reason: string;
}

interface TopicWindow {
  timer: NodeJS.Timeout;
  /** Dead-lettered since the last warning, by error code. */
  unreported: Map<string, number>;
}

export const DEAD_LETTER_WARN_WINDOW_MS = 10_000;

export class DeadLetterLog {
  private readonly windows = new Map<string, TopicWindow>();

  constructor(
    private readonly logger: Logger,
    private readonly windowMs = DEAD_LETTER_WARN_WINDOW_MS,
  ) {}

  /** Logs letters the DLQ acknowledged. */
  sent(topic: string, letters: readonly LoggedDeadLetter[]): void {
    if (letters.length === 0) return;
    for (const letter of letters) {
      this.logger.info(
        { topic, partition: letter.partition, offset: letter.offset, error: letter.error },
        `[DLQ:${topic}] Sent: ${letter.key?.toString() ?? `${letter.partition}@${letter.offset}`} (${letter.reason})`,
      );
    }
    const window = this.windows.get(topic);
    if (window) {
      for (const letter of letters) count(window.unreported, letter.error);
      return;
    }
    const now = new Map<string, number>();
    for (const letter of letters) count(now, letter.error);
    this.warn(topic, now, "");
    this.open(topic);
  }

  /** Tells what was not told yet and forgets every window. */
  stop(): void {
    for (const [topic, window] of this.windows) {
      clearTimeout(window.timer);
      if (window.unreported.size > 0) this.warn(topic, window.unreported, " more");
    }
    this.windows.clear();
  }

  private open(topic: string): void {
    const window: TopicWindow = {
      unreported: new Map(),
      timer: setTimeout(() => this.close(topic, window), this.windowMs),
    };
    // A log line is no reason to keep the process alive.
    window.timer.unref();
    this.windows.set(topic, window);
  }

  // The window ends: its count is told and a new window starts, or, when none came, the topic is
  // quiet again and its next letter warns at once.
  private close(topic: string, window: TopicWindow): void {
    this.windows.delete(topic);
    if (window.unreported.size === 0) return;
    this.warn(topic, window.unreported, " more");
    this.open(topic);
  }

  private warn(topic: string, byError: ReadonlyMap<string, number>, more: string): void {
    const total = [...byError.values()].reduce((sum, n) => sum + n, 0);
    const errors = [...byError].map(([error, n]) => `${error} ${n}`).join(", ");
    const records = total === 1 ? "record" : "records";
    const since = more ? ` in the last ${Math.round(this.windowMs / 1000)} s` : "";
    this.logger.warn(
      { topic, deadLettered: total, errors: Object.fromEntries(byError) },
      `[DLQ:${topic}] ${total}${more} ${records} dead-lettered${since} (${errors}); each is logged at info, ListDeadLetters shows them`,
    );
  }
}

function count(byError: Map<string, number>, error: string): void {
  byError.set(error, (byError.get(error) ?? 0) + 1);
}
