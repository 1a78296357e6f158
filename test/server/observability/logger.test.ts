import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, scrubText } from "../../../server/observability/logger.js";

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean)));
  return { logger: createLogger({ level: "debug", format: "json" }, stream), lines };
}

describe("log redaction", () => {
  it("masks e-mails, bearer credentials and URL passwords in text", () => {
    expect(scrubText("Sent: john.doe@example.com (bad amount)")).toBe("Sent: ***@example.com (bad amount)");
    expect(scrubText("authorization: Bearer abc.DEF-123_x")).toBe("authorization: Bearer ***");
    expect(scrubText("postgres://pa:s3cret@db:5432/pa")).toBe("postgres://pa:***@db:5432/pa");
    expect(scrubText("offset 12@3 of topic a.b")).toBe("offset 12@3 of topic a.b");
  });

  it("censors sensitive fields, messages and error texts on every line", () => {
    const { logger, lines } = capture();
    logger.info({ password: "hunter2", sasl: { password: "pw1" } }, "connecting");
    logger.info({ request: { authorization: "Bearer tok-1" }, customer_email: "ann@example.com" }, "call");
    logger.warn(
      { payment: { customerEmail: "bob@example.com", id: "p1" } },
      "payment bob@example.com failed",
    );
    logger.error({ err: new Error("duplicate key for carl@example.com") }, "store failed");
    logger.child({ audit: true }).info({ token: "tok-2", apiKey: "k-3" }, "audit");
    const all = lines.join("\n");
    for (const secret of ["hunter2", "pw1", "tok-1", "tok-2", "k-3", "ann@", "bob@", "carl@"]) {
      expect(all, secret).not.toContain(secret);
    }
    expect(all).toContain("***@example.com");
    expect(JSON.parse(lines[2] as string).payment.id).toBe("p1");
  });
});
