// Health at a glance: the stream's connection state and, per active topic, what GetTopics reports
// (subscribers, lag, dead letters). Fields pa adds to TopicStatus later (breaker state, ...) are
// shown too, read from the message's schema, so the panel never lags behind the contract: as a
// wrapping line of "name value" under the topic's row (columns for each would not fit the narrow
// panel), where a repeated field shows its items (a list of messages, how many).
import type { DescField } from "@bufbuild/protobuf";
import { type TopicList, type TopicStatus, TopicStatusSchema } from "../../../gen/payment/payment_pb.js";
import { partitionRanges, unprocessedPartitions } from "../format/partitions.js";
import { slowestSubscriber, subscribersBehind } from "../format/subscribers.js";
import type { ConnectionState } from "../live/live-stream.js";

interface Props {
  connection: ConnectionState | undefined;
  topics: TopicList | undefined;
  topicsError: string | undefined;
  selected: string;
  received: number;
  /** Updates pa replaced by newer ones while the browser was behind. */
  folded: number;
}

const SHOWN = new Set(["topic", "subscribers", "partitions", "consumer_lag", "messages_dead_lettered"]);
// Shown together on a line under the topic's row, which a narrow panel has room for.
const SUBSCRIBER_FIELDS = new Set([
  "subscriber_lag_p50",
  "subscriber_lag_p99",
  "delivery_latency_p50_ms",
  "delivery_latency_p99_ms",
  "slowest_subscriber_peer",
  "slowest_subscriber_identity",
  "slowest_subscriber_lag",
  "slowest_subscriber_latency_ms",
]);
// Shown as a warning line under the topic's row: each one says what waits and whose it is.
const UNPROCESSED_FIELD = "unprocessed_partitions";

export function connectionLabel(state: ConnectionState | undefined): { text: string; tone: string } {
  switch (state?.kind) {
    case "live":
      return { text: "live", tone: "ok" };
    case "open":
      return { text: "live, no events yet", tone: "ok" };
    case "connecting":
      return { text: "connecting…", tone: "warn" };
    case "reconnecting":
      return {
        text: `reconnecting (attempt ${state.attempt}, in ${Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000))} s)`,
        tone: "warn",
      };
    case "error":
      return { text: "error", tone: "bad" };
    default:
      return { text: "not watching", tone: "idle" };
  }
}

function extraValue(status: TopicStatus, field: DescField): string | undefined {
  const value = (status as unknown as Record<string, unknown>)[field.localName];
  if (value === undefined || value === null) return undefined;
  if (field.fieldKind === "list") {
    const items = value as unknown[];
    if (field.listKind === "message") return items.length === 0 ? "none" : `${items.length}`;
    return items.every((item) => typeof item === "number" && Number.isInteger(item))
      ? partitionRanges(items as number[])
      : items.map(String).join(", ") || "none";
  }
  if (field.fieldKind === "enum") {
    return (field.enum.values.find((v) => v.number === value)?.name ?? String(value)).toLowerCase();
  }
  if (typeof value === "object") {
    return "seconds" in (value as object)
      ? new Date(Number((value as { seconds: bigint }).seconds) * 1000).toISOString()
      : undefined;
  }
  if (typeof value === "bigint" || typeof value === "number") return value.toLocaleString();
  return String(value);
}

const COLUMNS = 4;

/** Under the topic's row: every other field TopicStatus carries and this one has a value for. */
function detailLine(status: TopicStatus, fields: readonly DescField[]) {
  const shown = fields.flatMap((field) => {
    const value = extraValue(status, field);
    return value === undefined || value === "" ? [] : [{ field, value }];
  });
  if (shown.length === 0) return [];
  return [
    <tr key={`${status.topic}/details`} class="details">
      <td colSpan={COLUMNS} class="muted">
        {shown.map(({ field, value }, index) => (
          <span key={field.name} data-field={field.name}>
            {index > 0 && " · "}
            {field.name.replaceAll("_", " ")} <strong>{value}</strong>
          </span>
        ))}
      </td>
    </tr>,
  ];
}

/** Under a topic with partitions nobody in the group processes: which, and what waits on them. */
function unprocessedLine(status: TopicStatus, columns: number) {
  const text = unprocessedPartitions(status.unprocessedPartitions);
  if (!text) return [];
  return [
    <tr key={`${status.topic}/unprocessed`} class="unprocessed">
      <td colSpan={columns} class="warn-text" role="alert">
        not processed by any instance: {text}
      </td>
    </tr>,
  ];
}

/** Under a topic with subscribers: how far behind they are, and the slowest one. */
function subscriberLine(status: TopicStatus, columns: number) {
  const behind = subscribersBehind(status);
  if (!behind) return [];
  const slowest = slowestSubscriber(status);
  return [
    <tr key={`${status.topic}/subscribers`} class="subscribers">
      <td colSpan={columns} class="muted">
        subscribers behind (median / p99): {behind}
        {slowest && <> · slowest: {slowest}</>}
      </td>
    </tr>,
  ];
}

export function HealthPanel({ connection, topics, topicsError, selected, received, folded }: Props) {
  const label = connectionLabel(connection);
  const extraFields = TopicStatusSchema.fields.filter(
    (f) =>
      !SHOWN.has(f.name) &&
      !SUBSCRIBER_FIELDS.has(f.name) &&
      f.name !== UNPROCESSED_FIELD &&
      !["messages_consumed", "active_since", "pinned"].includes(f.name),
  );
  return (
    <section class="panel health" aria-label="Health">
      <h2>Health</h2>
      <p>
        Stream:{" "}
        <span class={`state ${label.tone}`} role="status">
          {label.text}
        </span>{" "}
        <span class="muted">
          · {received.toLocaleString()} events received
          {folded > 0 && ` (${folded.toLocaleString()} older updates skipped while behind)`}
        </span>
      </p>
      {connection?.kind === "reconnecting" && <p class="warn-text">{connection.reason}</p>}
      {connection?.kind === "error" && (
        <p class="error" role="alert">
          {connection.message}
        </p>
      )}
      {topicsError && <p class="error">{topicsError}</p>}
      <table class="compact">
        <thead>
          <tr>
            <th>topic</th>
            <th class="num">subs</th>
            <th class="num">lag</th>
            <th class="num">DLQ</th>
          </tr>
        </thead>
        <tbody>
          {(topics?.details ?? []).flatMap((status) => [
            <tr key={status.topic} class={status.topic === selected ? "selected" : ""}>
              <td class="ellipsis" title={status.topic}>
                {status.topic}
              </td>
              <td class="num">{status.subscribers}</td>
              <td class="num">
                {status.consumerLag === undefined ? "?" : status.consumerLag.toLocaleString()}
              </td>
              <td class="num">{status.messagesDeadLettered.toLocaleString()}</td>
            </tr>,
            ...unprocessedLine(status, COLUMNS),
            ...detailLine(status, extraFields),
            ...subscriberLine(status, COLUMNS),
          ])}
        </tbody>
      </table>
    </section>
  );
}
