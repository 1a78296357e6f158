// One topic's StreamPayments call that survives pa restarts and network drops: it reconnects with
// exponential backoff and resumes from the cursor of the last event it delivered, so the events it
// hands on have no gap and no duplicate. As a second guard, an event at or below the highest
// offset already delivered for its partition is dropped (order within a partition is guaranteed).
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { ListedSnapshot } from "../../../client/list-snapshot.js";
import {
  Delivery,
  type PaymentEvent,
  type PaymentService,
  StreamStart,
} from "../../../gen/payment/payment_pb.js";
import { plainError } from "../api/plain-errors.js";
import type { StartChoice } from "../state/url-state.js";

export type ConnectionState =
  | { kind: "connecting" }
  | { kind: "live" }
  /** The call has not failed for a while but no event (and so no response header) came yet. */
  | { kind: "open" }
  | { kind: "reconnecting"; attempt: number; retryAt: number; reason: string }
  /** `inFilter`: pa refused the filter expression; the message says where it does not compile. */
  | { kind: "error"; message: string; inFilter?: boolean }
  | { kind: "stopped" };

export interface LiveStreamOptions {
  client: Client<typeof PaymentService>;
  topic: string;
  start: StartChoice;
  /** A CEL expression pa applies to the stream; empty: every payment. */
  filter?: string;
  /** Stored payments sent first, on the first connection only. */
  existingLimit: number;
  /**
   * Reads the stored payments to show first and the position to stream on from (ListPayments and
   * its as_of), instead of the stream's own snapshot; undefined from it: the stream's snapshot.
   */
  snapshot?: (signal: AbortSignal) => Promise<ListedSnapshot | undefined>;
  onEvent(event: PaymentEvent): void;
  onState(state: ConnectionState): void;
  backoff?: { initialMs: number; maxMs: number };
}

export interface LiveStream {
  stop(): void;
  /** The cursor of the last event delivered, if any. */
  readonly cursor: string | undefined;
}

const RESUME_TRAILER = "pa-resume-cursor";
// pa (connect-node) sends a stream's response headers with its first event, so a quiet topic gives
// no sign of life; a refused or unreachable call fails at once, so one that has not failed by then
// is open.
const OPEN_AFTER_MS = 1500;
// Longest stretch of stream decoding before the browser gets a turn (render, input).
const SLICE_MS = 8;

/** Resolves in a new task: scheduler.yield() where the browser has it, else a message event. */
function yieldToBrowser(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (scheduler?.yield) return scheduler.yield();
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.addEventListener(
      "message",
      () => {
        channel.port1.close();
        resolve();
      },
      { once: true },
    );
    channel.port1.start();
    channel.port2.postMessage(null);
  });
}

export function openLiveStream(options: LiveStreamOptions): LiveStream {
  const abort = new AbortController();
  const backoff = options.backoff ?? { initialMs: 500, maxMs: 10_000 };
  const highestOffset = new Map<number, bigint>();
  let cursor: string | undefined;
  let firstConnection = true;
  let snapshotRead = false;

  // A view of current state: while the browser is behind, pa sends each payment's newest state only.
  const shared = { delivery: Delivery.LATEST, ...(options.filter ? { filter: options.filter } : {}) };
  const request = () => {
    const existingLimit = firstConnection ? options.existingLimit : 0;
    if (cursor) {
      return {
        topic: options.topic,
        existingLimit,
        startPosition: { case: "startCursor" as const, value: cursor },
        ...shared,
      };
    }
    const start = options.start;
    const startPosition =
      start.kind === "time"
        ? { case: "startTime" as const, value: timestampFromDate(start.at) }
        : {
            case: "start" as const,
            value: start.kind === "earliest" ? StreamStart.EARLIEST : StreamStart.LATEST,
          };
    return { topic: options.topic, existingLimit, startPosition, ...shared };
  };

  const deliver = (event: PaymentEvent) => {
    if (event.offset >= 0n) {
      const highest = highestOffset.get(event.partition);
      if (highest !== undefined && event.offset <= highest) return;
      highestOffset.set(event.partition, event.offset);
    }
    if (event.cursor) cursor = event.cursor;
    options.onEvent(event);
  };

  const run = async () => {
    let attempt = 0;
    while (!abort.signal.aborted) {
      options.onState({ kind: "connecting" });
      let failure: unknown;
      try {
        const live = () => {
          attempt = 0;
          options.onState({ kind: "live" });
        };
        if (options.snapshot && !snapshotRead) {
          const listed = await options.snapshot(abort.signal);
          snapshotRead = true;
          if (listed) {
            // Read at the store position `cursor` names: everything after it comes from the stream.
            for (const event of listed.events) options.onEvent(event);
            cursor = listed.cursor;
            firstConnection = false;
          }
        }
        let heard = false;
        const quiet = setTimeout(() => {
          if (!heard && !abort.signal.aborted) options.onState({ kind: "open" });
        }, OPEN_AFTER_MS);
        const events = options.client.streamPayments(request(), {
          signal: abort.signal,
          onHeader: () => {
            heard = true;
            live();
          },
        });
        try {
          let sliceStart = performance.now();
          for await (const event of events) {
            firstConnection = false;
            deliver(event);
            // A burst of buffered messages is decoded in microtasks, which never let the browser
            // paint; handing the main thread back every few milliseconds keeps frames flowing.
            if (performance.now() - sliceStart > SLICE_MS) {
              await yieldToBrowser();
              sliceStart = performance.now();
            }
          }
        } finally {
          clearTimeout(quiet);
        }
        failure = new Error("pa ended the stream");
      } catch (error) {
        failure = error;
      }
      if (abort.signal.aborted) break;
      firstConnection = false;
      const problem = plainError(failure, `streaming topic ${options.topic}`);
      const trailer = (failure as { metadata?: Headers }).metadata?.get?.(RESUME_TRAILER);
      if (trailer && !cursor) cursor = trailer;
      if (!problem.retryable) {
        const refused = ConnectError.from(failure);
        if (refused.code === Code.InvalidArgument && refused.rawMessage.startsWith("filter ")) {
          options.onState({ kind: "error", message: refused.rawMessage, inFilter: true });
          return;
        }
        options.onState({ kind: "error", message: problem.message });
        return;
      }
      attempt++;
      const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (attempt - 1));
      // Full jitter, so dashboards do not all reconnect to a restarted pa in the same instant.
      const delay = ceiling / 2 + Math.random() * (ceiling / 2);
      options.onState({
        kind: "reconnecting",
        attempt,
        retryAt: Date.now() + delay,
        reason: problem.message,
      });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        abort.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    options.onState({ kind: "stopped" });
  };
  void run();

  return {
    stop: () => abort.abort(),
    get cursor() {
      return cursor;
    },
  };
}
