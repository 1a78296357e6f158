import { describe, expect, it } from "vitest";
import { encodeGrpcMessage, respecGrpcMessage } from "../../../server/rpc/grpc-message.js";

describe("grpc-message as the gRPC spec encodes it", () => {
  it("escapes only bytes outside 0x20-0x7E, and %", () => {
    expect(encodeGrpcMessage('topic "a/b": use 1,2; 100%')).toBe('topic "a/b": use 1,2; 100%25');
    expect(encodeGrpcMessage("café\n")).toBe("caf%C3%A9%0A");
  });

  it("reads back the same with decodeURI (grpc-js) and decodeURIComponent (connect)", () => {
    for (const text of ["no credential: send authorization: Bearer <key>", "€ 5,00 / 100% ✓", "%3A"]) {
      expect(decodeURI(encodeGrpcMessage(text))).toBe(text);
      expect(decodeURIComponent(encodeGrpcMessage(text))).toBe(text);
    }
  });

  it("rewrites Connect's encodeURIComponent form in place", () => {
    const headers = new Headers({ "grpc-message": encodeURIComponent("a: b/c, 100% é") });
    respecGrpcMessage(headers);
    expect(headers.get("grpc-message")).toBe("a: b/c, 100%25 %C3%A9");
  });
});
