// One payment in full: every field, its metadata, where it came from and its cursor, the state the
// store holds (GetPayment), its history on this stream, and the customer's other stored payments
// (ListPayments). Both reads pass the event's cursor as consistent_with: the payment is on screen,
// so the store is asked for it as of that event, and one the store has not caught up with in time
// is "not stored yet" with a retry, never "not found".
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Payment } from "../../../gen/payment/payment_pb.js";
import type { PaClients } from "../api/clients.js";
import { plainError } from "../api/plain-errors.js";
import { READ_YOUR_STREAM_MS, readYourStream, storeAnswer } from "../api/read-your-stream.js";
import { formatDateTime, formatTime, providerName, statusName } from "../format/labels.js";
import { formatMoney } from "../format/money.js";
import type { LiveRow } from "../live/live-model.js";

interface Props {
  row: LiveRow;
  history: LiveRow[];
  clients: PaClients;
  onClose(): void;
}

type Loaded<T> =
  | { state: "loading" }
  | { state: "done"; value: T }
  /** The store had not reached this event's cursor within the deadline. */
  | { state: "not-stored-yet" }
  /** The topic is streamed read-only: pa stores none of its payments. */
  | { state: "not-kept" }
  | { state: "failed"; message: string; retryable: boolean };

/** One read of the store as of `cursor`, again on retry(); the latest answer wins. */
function useStoreRead<T>(
  read: (
    options: { signal: AbortSignal; timeoutMs?: number },
    fields: { consistentWith?: string },
  ) => Promise<T>,
  cursor: string | undefined,
  what: string,
  key: readonly unknown[],
): { loaded: Loaded<T>; retry(): void } {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: "loading" });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    const { fields, timeoutMs } = readYourStream(cursor);
    setLoaded({ state: "loading" });
    read({ signal: abort.signal, ...(timeoutMs ? { timeoutMs } : {}) }, fields).then(
      (value) => !abort.signal.aborted && setLoaded({ state: "done", value }),
      (error: unknown) => {
        if (abort.signal.aborted) return;
        const answer = storeAnswer(error, cursor);
        if (answer) return setLoaded({ state: answer });
        const problem = plainError(error, what);
        setLoaded({ state: "failed", message: problem.message, retryable: problem.retryable });
      },
    );
    return () => abort.abort();
  }, [...key, cursor, attempt]);
  return { loaded, retry: () => setAttempt((n) => n + 1) };
}

/** Loading, not stored yet (with Retry), or failed; nothing once done. */
function ReadState({ loaded, retry, waiting }: { loaded: Loaded<unknown>; retry(): void; waiting: boolean }) {
  if (loaded.state === "loading") {
    return <p class="muted">{waiting ? "waiting for the store to reach this event…" : "loading…"}</p>;
  }
  if (loaded.state === "not-stored-yet") {
    return (
      <div class="not-stored-yet" role="status">
        <p class="warn-text">
          Not stored yet: pa streamed this payment, but its store had not caught up with the stream within{" "}
          {READ_YOUR_STREAM_MS / 1000} s. The store follows the stream and will have it.
        </p>
        <button type="button" onClick={retry}>
          Retry
        </button>
      </div>
    );
  }
  if (loaded.state === "not-kept") {
    return (
      <p class="muted" role="status">
        Not stored: this topic is streamed read-only (not in PROCESS_TOPICS), so pa keeps none of its
        payments.
      </p>
    );
  }
  if (loaded.state === "failed") {
    return (
      <div>
        <p class="error">{loaded.message}</p>
        {loaded.retryable && (
          <button type="button" onClick={retry}>
            Retry
          </button>
        )}
      </div>
    );
  }
  return null;
}

export function DetailView({ row, history, clients, onClose }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const payment = row.event.payment as Payment;
  // A stored ("existing") event has no cursor: the store had it before it was sent.
  const cursor = row.event.cursor || undefined;
  const { loaded: stored, retry: retryStored } = useStoreRead(
    (options, fields) => clients.payments.getPayment({ paymentId: payment.id, ...fields }, options),
    cursor,
    "loading it from the store",
    [payment.id, clients],
  );
  const { loaded: others, retry: retryOthers } = useStoreRead(
    async (options, fields) =>
      payment.customerEmail
        ? (
            await clients.payments.listPayments(
              { customerEmail: payment.customerEmail, limit: 10, ...fields },
              options,
            )
          ).payments
        : [],
    cursor,
    "listing the customer's payments",
    [payment.customerEmail, clients],
  );

  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  const source = stored.state === "done" ? stored.value.source : undefined;
  const fields: [string, string][] = [
    ["id", payment.id],
    ["provider", providerName(payment.provider)],
    ["amount", formatMoney(payment.amountMinor, payment.amount, payment.currency, navigator.language)],
    ["amount_minor", `${payment.amountMinor} (${payment.currency} minor units)`],
    ["currency", payment.currency],
    ["status", statusName(payment.status)],
    ["customer_email", payment.customerEmail || "—"],
    ["created_at", formatDateTime(new Date(Number(payment.createdAt) * 1000))],
    ["processed_at", formatDateTime(new Date(Number(payment.processedAt) * 1000))],
    ["event", row.existing ? "existing (from the store)" : "new (live)"],
    ["topic", row.event.topic],
    ["partition / offset", row.existing ? "—" : `${row.event.partition} / ${row.event.offset}`],
    [
      "kafka time",
      formatDateTime(row.event.kafkaTimestamp ? timestampDate(row.event.kafkaTimestamp) : undefined),
    ],
    ["cursor", row.event.cursor || "—"],
  ];

  return (
    <dialog ref={dialog} class="detail" aria-label={`Payment ${payment.id}`} onClose={onClose}>
      <header>
        <h2>Payment {payment.id}</h2>
        <button type="button" onClick={() => dialog.current?.close()} aria-label="Close">
          Close
        </button>
      </header>
      <section>
        <h3>Fields</h3>
        <dl class="fields">
          {fields.map(([name, value]) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd class={name === "cursor" ? "mono wrap" : ""}>{value}</dd>
            </div>
          ))}
        </dl>
      </section>
      <section>
        <h3>Metadata</h3>
        {Object.keys(payment.metadata).length === 0 ? (
          <p class="muted">none</p>
        ) : (
          <dl class="fields">
            {Object.entries(payment.metadata).map(([key, value]) => (
              <div key={key}>
                <dt>{key}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
        )}
      </section>
      <section aria-label="Stored state">
        <h3>In the store</h3>
        <ReadState loaded={stored} retry={retryStored} waiting={Boolean(cursor)} />
        {stored.state === "done" && (
          <dl class="fields">
            <div>
              <dt>status now</dt>
              <dd>{statusName(stored.value.status)}</dd>
            </div>
            <div>
              <dt>read from</dt>
              <dd>{source ? `${source.topic} p${source.partition} @${source.offset}` : "—"}</dd>
            </div>
            <div>
              <dt>first seen</dt>
              <dd>{formatDateTime(source?.firstSeen ? timestampDate(source.firstSeen) : undefined)}</dd>
            </div>
            <div>
              <dt>last seen</dt>
              <dd>{formatDateTime(source?.lastSeen ? timestampDate(source.lastSeen) : undefined)}</dd>
            </div>
          </dl>
        )}
      </section>
      <section>
        <h3>History on this stream</h3>
        <ol class="history">
          {history.map((entry) => (
            <li key={entry.seq}>
              {formatTime(entry.event.payment?.createdAt ?? 0n)} ·{" "}
              {statusName(entry.event.payment?.status ?? 0)} ·{" "}
              {entry.existing ? "from the store" : `p${entry.event.partition} @${entry.event.offset}`}
            </li>
          ))}
        </ol>
      </section>
      <section aria-label="Customer's stored payments">
        <h3>This customer's stored payments</h3>
        <ReadState loaded={others} retry={retryOthers} waiting={Boolean(cursor)} />
        {others.state === "done" && (
          <ul class="history">
            {others.value.map((other) => (
              <li key={other.id}>
                {other.id} ·{" "}
                {formatMoney(other.amountMinor, other.amount, other.currency, navigator.language)} ·{" "}
                {statusName(other.status)}
              </li>
            ))}
          </ul>
        )}
      </section>
    </dialog>
  );
}
