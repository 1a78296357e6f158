import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { SourceTopicNotFoundError } from "../../../server/admin/admin-requests.js";
import { DeadLetterReadError } from "../../../server/admin/dead-letter-reader.js";
import { InvalidPageTokenError } from "../../../server/admin/page-token.js";
import { RedriveUnavailableError } from "../../../server/admin/redrive.js";
import { toConnectError } from "../../../server/rpc/error-mapping.js";

describe("DeadLetterService errors", () => {
  it("map to the Connect code a client can act on, keeping the message", () => {
    const cases: [Error, Code][] = [
      [new SourceTopicNotFoundError("orders"), Code.NotFound],
      [new InvalidPageTokenError("page_token is not a token pa issued"), Code.InvalidArgument],
      [new DeadLetterReadError("reading orders.dlq did not reach its end"), Code.Unavailable],
      [new RedriveUnavailableError("cannot produce to orders"), Code.Unavailable],
    ];
    for (const [error, code] of cases) {
      const mapped = toConnectError(error);
      expect([Code[mapped.code], mapped.rawMessage]).toEqual([Code[code], error.message]);
    }
  });
});
