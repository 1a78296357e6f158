// What pa read from Kafka for one topic, from its /metrics: the live feed's reads, and the records
// read again for a subscriber behind the feed (catch-up) or for the view behind it. Their sum over
// the events delivered is the benchmark's read amplification: 1 when every record is read once.

export interface TopicReads {
  /** pa_records_consumed_total: records the live feed read. */
  live: number;
  /** pa_catch_up_events_total: events read again for subscribers behind the live feed. */
  catchUp: number;
  /** pa_view_reread_records_total: records the view's own reader read again. */
  view: number;
}

export async function topicReads(baseUrl: string, topic: string): Promise<TopicReads> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const counter = (name: string) => {
    const prefix = `${name}{topic="${topic}"} `;
    const line = text.split("\n").find((l) => l.startsWith(prefix));
    return line ? Number(line.slice(prefix.length)) : 0;
  };
  return {
    live: counter("pa_records_consumed_total"),
    catchUp: counter("pa_catch_up_events_total"),
    view: counter("pa_view_reread_records_total"),
  };
}

/** "1.79 (live 200,000, catch-up 157,273, view 0)": records read per event delivered. */
export function describeReads(reads: TopicReads, delivered: number, count: (n: number) => string): string {
  const perEvent = (reads.live + reads.catchUp + reads.view) / delivered;
  return `${perEvent.toFixed(2)} (live ${count(reads.live)}, catch-up ${count(reads.catchUp)}, view ${count(reads.view)})`;
}
