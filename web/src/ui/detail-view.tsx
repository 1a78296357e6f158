// One payment in full: every field, its metadata, where it came from and its cursor, the state the
// store holds (GetPayment), its history on this stream, and the customer's other stored payments
// (ListPayments).
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Payment } from "../../../gen/payment/payment_pb.js";
import type { PaClients } from "../api/clients.js";
import { plainError } from "../api/plain-errors.js";
import { formatDateTime, formatTime, providerName, statusName } from "../format/labels.js";
import { formatMoney } from "../format/money.js";
import type { LiveRow } from "../live/live-model.js";

interface Props {
  row: LiveRow;
  history: LiveRow[];
  clients: PaClients;
  onClose(): void;
}

type Loaded<T> = { state: "loading" } | { state: "done"; value: T } | { state: "failed"; message: string };

export function DetailView({ row, history, clients, onClose }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const payment = row.event.payment as Payment;
  const [stored, setStored] = useState<Loaded<Payment>>({ state: "loading" });
  const [others, setOthers] = useState<Loaded<Payment[]>>({ state: "loading" });

  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  useEffect(() => {
    const abort = new AbortController();
    clients.payments.getPayment({ paymentId: payment.id }, { signal: abort.signal }).then(
      (value) => setStored({ state: "done", value }),
      (error: unknown) =>
        !abort.signal.aborted &&
        setStored({ state: "failed", message: plainError(error, "loading it from the store").message }),
    );
    if (payment.customerEmail) {
      clients.payments
        .listPayments({ customerEmail: payment.customerEmail, limit: 10 }, { signal: abort.signal })
        .then(
          (list) => setOthers({ state: "done", value: list.payments }),
          (error: unknown) =>
            !abort.signal.aborted &&
            setOthers({
              state: "failed",
              message: plainError(error, "listing the customer's payments").message,
            }),
        );
    } else {
      setOthers({ state: "done", value: [] });
    }
    return () => abort.abort();
  }, [payment.id, payment.customerEmail, clients]);

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
        {stored.state === "loading" && <p class="muted">loading…</p>}
        {stored.state === "failed" && <p class="error">{stored.message}</p>}
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
      <section>
        <h3>This customer's stored payments</h3>
        {others.state === "loading" && <p class="muted">loading…</p>}
        {others.state === "failed" && <p class="error">{others.message}</p>}
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
