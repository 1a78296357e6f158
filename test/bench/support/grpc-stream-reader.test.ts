import { describe, expect, it } from "vitest";
import { GrpcFrameSplitter } from "../../../bench/support/grpc-stream-reader.js";

function frame(payload: number[]): number[] {
  const n = payload.length;
  return [0, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255, ...payload];
}

// Feeds the stream in the given chunks and returns the messages as plain arrays (copied during the
// callback, since a view is valid only then).
function split(chunks: number[][]): { messages: number[][]; atBoundary: boolean } {
  const splitter = new GrpcFrameSplitter();
  const messages: number[][] = [];
  for (const chunk of chunks) splitter.push(Uint8Array.from(chunk), (message) => messages.push([...message]));
  return { messages, atBoundary: splitter.atBoundary };
}

describe("GrpcFrameSplitter", () => {
  const payloads = [[1, 2, 3], [], Array.from({ length: 300 }, (_, i) => i & 255), [7]];
  const stream = payloads.flatMap(frame);

  it("splits messages that arrive whole, several in one chunk", () => {
    expect(split([stream])).toEqual({ messages: payloads, atBoundary: true });
  });

  it("assembles messages split anywhere across two chunks, headers included", () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(split([stream.slice(0, cut), stream.slice(cut)]).messages, `cut at ${cut}`).toEqual(payloads);
    }
  });

  it("assembles messages that arrive a byte at a time", () => {
    expect(split(stream.map((byte) => [byte]))).toEqual({ messages: payloads, atBoundary: true });
  });

  it("says when the stream stopped inside a message", () => {
    expect(split([stream.slice(0, 3)]).atBoundary).toBe(false);
    expect(split([stream.slice(0, 6)]).atBoundary).toBe(false);
  });

  it("refuses a compressed message, which the call never offered", () => {
    expect(() => split([[1, 0, 0, 0, 1, 9]])).toThrow(/compressed/);
  });
});
