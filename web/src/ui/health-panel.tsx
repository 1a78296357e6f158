// Health at a glance: the stream's connection state and, per active topic, what GetTopics reports
// (subscribers, lag, dead letters). Fields pa adds to TopicStatus later (breaker state, ...) are
// shown too, read from the message's schema, so the panel never lags behind the contract.
import type { DescField } from "@bufbuild/protobuf";
import { type TopicList, type TopicStatus, TopicStatusSchema } from "../../../gen/payment/payment_pb.js";
import { slowestSubscriber, subscribersBehind } from "../format/subscribers.js";
import type { ConnectionState } from "../live/live-stream.js";

interface Props {
  connection: ConnectionState | undefined;
  topics: TopicList | undefined;
  topicsError: string | undefined;
  selected: string;
  received: number;
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
  if (field.fieldKind === "enum") {
    return (field.enum.values.find((v) => v.number === value)?.name ?? String(value)).toLowerCase();
  }
  if (typeof value === "object") {
    return "seconds" in (value as object)
      ? new Date(Number((value as { seconds: bigint }).seconds) * 1000).toISOString()
      : undefined;
  }
  return String(value);
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

export function HealthPanel({ connection, topics, topicsError, selected, received }: Props) {
  const label = connectionLabel(connection);
  const extraFields = TopicStatusSchema.fields.filter(
    (f) =>
      !SHOWN.has(f.name) &&
      !SUBSCRIBER_FIELDS.has(f.name) &&
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
        <span class="muted">· {received.toLocaleString()} events received</span>
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
            {extraFields.map((f) => (
              <th key={f.name}>{f.name.replaceAll("_", " ")}</th>
            ))}
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
              {extraFields.map((f) => (
                <td key={f.name}>{extraValue(status, f) ?? "—"}</td>
              ))}
            </tr>,
            ...subscriberLine(status, 4 + extraFields.length),
          ])}
        </tbody>
      </table>
    </section>
  );
}
