import { describe, expect, it } from "vitest";
import { decodePageToken, encodePageToken, InvalidPageTokenError } from "../../../server/admin/page-token.js";

describe("page tokens", () => {
  it("round-trip the last position for the same query, whatever the order of its error codes", () => {
    const token = encodePageToken("orders", ["missing_field", "invalid_json"], { partition: 2, offset: 41 });
    expect(decodePageToken(token, "orders", ["invalid_json", "missing_field"])).toEqual({
      partition: 2,
      offset: 41,
    });
  });

  it("refuse a token of another topic or filter, saying what to do", () => {
    const token = encodePageToken("orders", [], { partition: 0, offset: 1 });
    expect(() => decodePageToken(token, "refunds", [])).toThrow(/another query/);
    expect(() => decodePageToken(token, "orders", ["invalid_json"])).toThrow(InvalidPageTokenError);
  });

  it("refuse tokens pa did not issue", () => {
    for (const token of ["garbage", Buffer.from("{}").toString("base64url"), "%%%"]) {
      expect(() => decodePageToken(token, "orders", [])).toThrow(/next_page_token/);
    }
  });
});
