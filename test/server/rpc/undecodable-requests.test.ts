import { describe, expect, it } from "vitest";
import { undecodableAsInvalidArgument } from "../../../server/rpc/undecodable-requests.js";

async function* chunks(...parts: Uint8Array[]): AsyncIterable<Uint8Array> {
  yield* parts;
}

async function bytesOf(body: AsyncIterable<Uint8Array> | undefined): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of body ?? chunks()) parts.push(part);
  return Buffer.concat(parts);
}

function envelope(flags: number, payload: string): Buffer {
  const data = Buffer.from(payload);
  const framed = Buffer.alloc(5 + data.length);
  framed[0] = flags;
  framed.writeUInt32BE(data.length, 1);
  data.copy(framed, 5);
  return framed;
}

describe("undecodableAsInvalidArgument", () => {
  it("makes gRPC's INTERNAL for an unparseable request INVALID_ARGUMENT", () => {
    const trailer = new Headers({
      "grpc-status": "13",
      "grpc-message": "parse%20binary%3A%20premature%20EOF",
    });
    undecodableAsInvalidArgument({ status: 200, header: new Headers(), trailer });
    expect(trailer.get("grpc-status")).toBe("3");
  });

  it("leaves pa's own INTERNAL alone", () => {
    const trailer = new Headers({ "grpc-status": "13", "grpc-message": "internal%20error" });
    undecodableAsInvalidArgument({ status: 200, header: new Headers(), trailer });
    expect(trailer.get("grpc-status")).toBe("13");
  });

  it("rewrites Connect's unary error body and status", async () => {
    const body = JSON.stringify({ code: "internal", message: "parse binary: illegal tag" });
    const answer = undecodableAsInvalidArgument({
      status: 500,
      header: new Headers({ "content-type": "application/json" }),
      body: chunks(Buffer.from(body)),
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse((await bytesOf(answer.body)).toString())).toEqual({
      code: "invalid_argument",
      message: "parse binary: illegal tag",
    });
  });

  it("rewrites the trailer frame of gRPC-Web and the end of a Connect stream", async () => {
    const grpcWeb = undecodableAsInvalidArgument({
      status: 200,
      header: new Headers({ "content-type": "application/grpc-web+proto" }),
      body: chunks(envelope(0x80, "grpc-status: 13\r\ngrpc-message: decompression%20failed\r\n")),
    });
    expect((await bytesOf(grpcWeb.body)).subarray(5).toString()).toContain("grpc-status: 3");
    const connect = undecodableAsInvalidArgument({
      status: 200,
      header: new Headers({ "content-type": "application/connect+proto" }),
      body: chunks(
        envelope(0x02, JSON.stringify({ error: { code: "internal", message: "parse binary: x" } })),
      ),
    });
    expect(JSON.parse((await bytesOf(connect.body)).subarray(5).toString())).toEqual({
      error: { code: "invalid_argument", message: "parse binary: x" },
    });
  });

  it("passes every other answer through byte for byte", async () => {
    // A JSON body whose first byte, read as envelope flags, would look like an end-of-stream.
    const json = Buffer.from(JSON.stringify({ code: "resource_exhausted", message: "slow down" }));
    const proto = Buffer.from([0x7a, 0x03, 0x61, 0x62, 0x63]);
    for (const [status, type, body] of [
      [429, "application/json", json],
      [200, "application/proto", proto],
      [200, "application/json", json],
    ] as const) {
      const answer = undecodableAsInvalidArgument({
        status,
        header: new Headers({ "content-type": type }),
        body: chunks(body),
      });
      expect(answer.status).toBe(status);
      expect(await bytesOf(answer.body)).toEqual(body);
    }
  });
});
