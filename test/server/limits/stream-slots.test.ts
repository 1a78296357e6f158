import { describe, expect, it } from "vitest";
import { StreamLimitError, StreamSlots } from "../../../server/limits/stream-slots.js";

describe("StreamSlots", () => {
  it("holds the total, per-connection and per-caller caps, and gives slots back once", () => {
    const slots = new StreamSlots({ total: 4, perConnection: 2, perCaller: 3 });
    const [a, b] = [{}, {}];
    const first = slots.reserve({ connection: a, key: "token alice" });
    slots.reserve({ connection: a, key: "token alice" });
    expect(() => slots.reserve({ connection: a, key: "token bob" })).toThrow(/MAX_STREAMS_PER_CONNECTION=2/);
    slots.reserve({ connection: b, key: "token alice" });
    expect(() => slots.reserve({ connection: b, key: "token alice" })).toThrow(/MAX_STREAMS_PER_IDENTITY=3/);
    slots.reserve({ connection: b, key: "token bob" });
    expect(slots.count).toBe(4);
    expect(() => slots.reserve({ key: "token carol" })).toThrow(/MAX_STREAMS=4/);
    first();
    first();
    expect(slots.count).toBe(3);
    expect(() => slots.reserve({ connection: a, key: "token carol" })).not.toThrow();
  });

  it("tells when to try again", () => {
    const slots = new StreamSlots({ total: 1, perConnection: 1, perCaller: 1 });
    slots.reserve({ key: "address 10.0.0.1" });
    try {
      slots.reserve({ key: "address 10.0.0.2" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(StreamLimitError);
      expect((error as StreamLimitError).retryAfterSeconds).toBeGreaterThan(0);
      expect((error as Error).message).toMatch(/retry in \d+ s/);
    }
  });
});
