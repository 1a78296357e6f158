import { describe, expect, it } from "vitest";
import { RingBuffer } from "../../../web/src/live/ring-buffer.js";

describe("RingBuffer", () => {
  it("keeps the newest items, newest first, dropping the oldest past capacity", () => {
    const ring = new RingBuffer<number>(3);
    for (let i = 1; i <= 5; i++) ring.push(i);
    expect(ring.length).toBe(3);
    expect([...ring]).toEqual([5, 4, 3]);
    expect(ring.newest(0)).toBe(5);
    expect(ring.newest(2)).toBe(3);
    expect(ring.newest(3)).toBeUndefined();
  });

  it("reads correctly before it is full and after clear", () => {
    const ring = new RingBuffer<string>(4);
    ring.push("a");
    ring.push("b");
    expect([...ring]).toEqual(["b", "a"]);
    ring.clear();
    expect(ring.length).toBe(0);
    expect([...ring]).toEqual([]);
  });

  it("rejects a capacity that is not a positive integer", () => {
    expect(() => new RingBuffer(0)).toThrow(RangeError);
    expect(() => new RingBuffer(1.5)).toThrow(RangeError);
  });
});
