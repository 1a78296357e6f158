import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { TopicStatusSchema } from "../../../gen/payment/payment_pb.js";
import { slowestSubscriber, subscribersBehind } from "../../../web/src/format/subscribers.js";

describe("the health panel's subscriber columns", () => {
  it("show lag and latency percentiles, and who is slowest, from where, how far behind", () => {
    const status = create(TopicStatusSchema, {
      topic: "payments",
      subscriberLagP50: 0n,
      subscriberLagP99: 2500n,
      deliveryLatencyP50Ms: 3.4,
      deliveryLatencyP99Ms: 812,
      slowestSubscriberPeer: "10.0.0.7:51234",
      slowestSubscriberIdentity: "reporting",
      slowestSubscriberLag: 2500n,
      slowestSubscriberLatencyMs: 812,
    });
    expect(subscribersBehind(status)).toBe("0 / 2,500 records · 3.4 ms / 812 ms");
    expect(slowestSubscriber(status)).toBe("reporting at 10.0.0.7:51234 · 2,500 behind · 812 ms");
  });

  it("show nothing for a topic without subscribers, and ? for a latency not measured yet", () => {
    expect(subscribersBehind(create(TopicStatusSchema, { topic: "idle" }))).toBeUndefined();
    expect(slowestSubscriber(create(TopicStatusSchema, { topic: "idle" }))).toBeUndefined();
    const fresh = create(TopicStatusSchema, {
      subscriberLagP50: 4n,
      subscriberLagP99: 4n,
      slowestSubscriberPeer: "127.0.0.1:40000",
      slowestSubscriberIdentity: "anonymous",
      slowestSubscriberLag: 4n,
    });
    expect(subscribersBehind(fresh)).toBe("4 / 4 records · ? / ?");
    expect(slowestSubscriber(fresh)).toBe("anonymous at 127.0.0.1:40000 · 4 behind · ?");
  });
});
