/**
 * A trickle of realistic payments into Kafka for `npm run dev`: a few records a second spread over
 * the given topics, mixed providers, currencies and statuses, and now and then a poison record so
 * the dead-letter path has something to show. Not part of pa; it stands in for the providers.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { kafkaRecordPublisher } from "../kafka/record-publisher.js";
import { createPaymentGenerator } from "./payment-generator.js";

export interface DemoProducerOptions {
  /** Bootstrap servers, as host:port. */
  brokers: string[];
  /** The topics records go to, taking turns. */
  topics: readonly string[];
  /** Records per second across all topics, on average (each gap varies by half). Default 4. */
  ratePerSecond?: number;
  /** One record in this many is a poison record; 0 sends none. Default 40. */
  poisonEvery?: number;
  /** Seeds the payment generator; random when absent. */
  seed?: number;
  /** Told about failed sends (at most one in a row: the next failure after a success). */
  onError?: (error: unknown) => void;
}

export interface DemoProducerCounts {
  payments: number;
  poison: number;
}

export interface DemoProducer {
  /** What the broker has acknowledged so far. */
  readonly sent: Readonly<DemoProducerCounts>;
  /** The id of the first payment acknowledged, once there is one: a real id for GetPayment. */
  readonly firstPaymentId: string | undefined;
  /** Resolves once the first record, payment or poison, is acknowledged. */
  readonly firstSent: Promise<void>;
  /** Stops sending and disconnects; resolves when the producer is closed. */
  stop(): Promise<void>;
}

export async function startDemoProducer(options: DemoProducerOptions): Promise<DemoProducer> {
  const { topics } = options;
  if (topics.length === 0) throw new Error("the demo producer needs at least one topic");
  const rate = options.ratePerSecond ?? 4;
  if (!(rate > 0)) throw new Error(`ratePerSecond must be above 0 (got ${rate})`);
  const poisonEvery = options.poisonEvery ?? 40;
  const meanGapMs = 1000 / rate;

  const publisher = await kafkaRecordPublisher({
    "bootstrap.servers": options.brokers.join(","),
    "client.id": "pa-demo-producer",
  })();

  const generator = createPaymentGenerator(options.seed === undefined ? {} : { seed: options.seed });
  const sent: DemoProducerCounts = { payments: 0, poison: 0 };
  let firstPaymentId: string | undefined;
  let markFirstSent: () => void = () => {};
  const firstSent = new Promise<void>((resolve) => {
    markFirstSent = resolve;
  });
  const stopping = new AbortController();

  const run = async () => {
    let failing = false;
    for (let n = 1; !stopping.signal.aborted; n++) {
      const poison = poisonEvery > 0 && n % poisonEvery === 0;
      const record = poison ? generator.invalid() : generator.valid();
      const topic = topics[n % topics.length];
      try {
        await publisher.send(topic as string, {
          key: Buffer.from(record.key),
          value: record.value,
          partition: -1,
          headers: {},
        });
        failing = false;
        if (poison) sent.poison++;
        else {
          sent.payments++;
          firstPaymentId ??= record.key;
        }
        markFirstSent();
      } catch (error) {
        if (!failing && !stopping.signal.aborted) options.onError?.(error);
        failing = true;
      }
      try {
        await sleep(meanGapMs * (0.5 + Math.random()), undefined, { signal: stopping.signal });
      } catch {
        // Aborted: the loop condition ends it.
      }
    }
  };
  const running = run();

  return {
    sent,
    get firstPaymentId() {
      return firstPaymentId;
    },
    firstSent,
    async stop() {
      stopping.abort();
      await running;
      await publisher.close();
    },
  };
}
