// The readable (non --json) output of the query commands, as cli-table3 tables.
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import Table from "cli-table3";
import type { DeadLetter, RedriveResult } from "../../gen/pa/admin/v1/dead_letter_service_pb.js";
import type { Payment, TopicStatus } from "../../gen/payment/payment_pb.js";
import type { Colors } from "./colors.js";
import { formatMoneyWithCode } from "./money.js";
import { providerName, statusLabel } from "./payment-labels.js";

// cli-table3 would colour headings itself on any stream; colours are decided by the caller.
const plainStyle = { head: [], border: [] };

function table(head: string[], colors: Colors, options: Table.TableConstructorOptions = {}): Table.Table {
  return new Table({ head: head.map((title) => colors.bold(title)), style: plainStyle, ...options });
}

export function formatTime(timestamp: Timestamp | undefined): string {
  return timestamp ? timestampDate(timestamp).toISOString() : "";
}

function unixSeconds(seconds: bigint): string {
  return seconds > 0n ? new Date(Number(seconds) * 1000).toISOString() : "";
}

function money(payment: Payment): string {
  return formatMoneyWithCode(payment.amountMinor, payment.currency, payment.amount);
}

export function paymentsTable(payments: readonly Payment[], colors: Colors): string {
  const out = table(["ID", "Provider", "Amount", "Status", "Customer", "Created", "Topic"], colors);
  for (const p of payments) {
    out.push([
      p.id,
      providerName(p.provider),
      { content: money(p), hAlign: "right" },
      statusLabel(p.status, colors),
      p.customerEmail,
      unixSeconds(p.createdAt),
      p.source?.topic ?? "",
    ]);
  }
  return out.toString();
}

export function paymentDetails(p: Payment, colors: Colors): string {
  const out = new Table({ style: plainStyle });
  const row = (name: string, value: string) => out.push({ [colors.bold(name)]: value });
  row("ID", p.id);
  row("Provider", providerName(p.provider));
  row("Amount", money(p));
  row("Minor units", `${p.amountMinor} ${p.currency}`);
  row("Status", statusLabel(p.status, colors));
  row("Customer", p.customerEmail);
  row("Created", unixSeconds(p.createdAt));
  row("Processed", unixSeconds(p.processedAt));
  for (const [key, value] of Object.entries(p.metadata).sort(([a], [b]) => a.localeCompare(b))) {
    row(`metadata.${key}`, value);
  }
  if (p.source) {
    row("Source", `${p.source.topic} partition ${p.source.partition} offset ${p.source.offset}`);
    row("Kafka time", formatTime(p.source.kafkaTimestamp));
    row("First seen", formatTime(p.source.firstSeen));
    row("Last seen", formatTime(p.source.lastSeen));
  }
  return out.toString();
}

export function topicsTable(topics: readonly TopicStatus[], colors: Colors): string {
  const out = table(
    [
      "Topic",
      "Subscribers",
      "Partitions",
      "Consumed",
      "Lag",
      "Dead-lettered",
      "Invalid",
      "Breaker",
      "Active since",
      "Pinned",
    ],
    colors,
  );
  for (const t of topics) {
    out.push([
      t.topic,
      t.subscribers,
      t.partitions,
      t.messagesConsumed.toString(),
      t.consumerLag === undefined ? "?" : t.consumerLag.toString(),
      t.messagesDeadLettered > 0n ? colors.yellow(t.messagesDeadLettered.toString()) : "0",
      t.messagesInvalid > 0n ? colors.yellow(t.messagesInvalid.toString()) : "0",
      breaker(t, colors),
      formatTime(t.activeSince),
      t.pinned ? "yes" : "",
    ]);
  }
  const notes = topics.flatMap((t) => [
    ...(t.pausedReason ? [colors.yellow(`${t.topic} is paused: ${t.pausedReason}`)] : []),
    ...(t.readOnly
      ? [`${t.topic} is streamed read-only (not in pa's PROCESS_TOPICS): nothing stored or dead-lettered`]
      : []),
    ...(t.lastInvalidReason
      ? [colors.yellow(`${t.topic}: last invalid record: ${t.lastInvalidReason}`)]
      : []),
  ]);
  return [out.toString(), ...notes].join("\n");
}

/** The breaker state, coloured: "closed" means processing; an older pa reports none. */
function breaker(t: TopicStatus, colors: Colors): string {
  if (!t.breakerState) return "";
  if (t.breakerState === "closed") return colors.green(t.breakerState);
  return colors.red(t.breakerState);
}

const REASON_WIDTH = 60;

export function deadLettersTable(letters: readonly DeadLetter[], colors: Colors): string {
  // Reasons are sentences: wrapped, so that one row does not span the terminal.
  const out = table(["Source", "Error", "Reason", "Key", "Copies", "Redriven", "Dead-lettered at"], colors, {
    colWidths: [null, null, REASON_WIDTH],
    wordWrap: true,
  });
  for (const d of letters) {
    out.push([
      `${d.originalPartition}:${d.originalOffset}`,
      colors.red(d.error),
      d.reason,
      d.key,
      d.copies,
      d.redriveCount,
      formatTime(d.deadLetteredAt),
    ]);
  }
  return out.toString();
}

export function redriveTable(
  redriven: readonly RedriveResult[],
  skipped: readonly RedriveResult[],
  colors: Colors,
): string {
  const out = table(["Source", "Outcome", "Now at / why"], colors);
  for (const r of redriven) {
    const at = r.newPartition === undefined ? "(dry run)" : `${r.newPartition}:${r.newOffset}`;
    out.push([`${r.source?.originalPartition}:${r.source?.originalOffset}`, colors.green("redriven"), at]);
  }
  for (const r of skipped) {
    out.push([
      `${r.source?.originalPartition}:${r.source?.originalOffset}`,
      colors.yellow("skipped"),
      r.detail,
    ]);
  }
  return out.toString();
}
