import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PaymentSchema } from "../../../gen/payment/payment_pb.js";
import { Access } from "../../../server/auth/access.js";
import { ANONYMOUS, grantsFromScope, type Identity, PermissionError } from "../../../server/auth/identity.js";
import { RequestError } from "../../../server/rpc/request-validation.js";
import type { StoredPayment } from "../../../server/store/payment-store.js";

const token = (scope: string, tenant?: string): Identity => ({
  name: "ci-bot",
  kind: "token",
  grants: grantsFromScope(scope),
  ...(tenant !== undefined ? { tenant } : {}),
});

const access = new Access({
  topicAllowlist: ["payments.*", "orders"],
  tenantMetadataKey: "merchant_id",
  piiMetadataKeys: ["email"],
});

function stored(topic: string, metadata: Record<string, string> = {}): StoredPayment {
  return {
    payment: create(PaymentSchema, { id: "p", customerEmail: "ann@example.com", metadata }),
    source: { topic, partition: 0, offset: 0, kafkaTimestampMs: 0 },
  };
}

describe("Access: topics", () => {
  it("grants a topic that a read glob and TOPIC_ALLOWLIST both match", () => {
    expect(access.requireTopic(token("read:payments.*"), "payments.eu")).toBe("payments.eu");
    expect(access.requireTopic(token("read:orders read:x"), "orders")).toBe("orders");
  });

  it("denies a topic without a read grant for it, naming the missing grant and the scope", () => {
    const call = () => access.requireTopic(token("read:orders pii"), "payments.eu");
    expect(call).toThrow(PermissionError);
    expect(call).toThrow('identity "ci-bot" has no "read:payments.eu" grant');
    expect(call).toThrow('(its scope is "read:orders pii")');
    try {
      call();
    } catch (error) {
      expect((error as PermissionError).grant).toBe("read:payments.eu");
    }
  });

  it("a grant never widens TOPIC_ALLOWLIST, and illegal or internal topics stay refused", () => {
    expect(() => access.requireTopic(token("read:*"), "users")).toThrow(RequestError);
    expect(() => access.requireTopic(token("read:*"), "users")).toThrow("TOPIC_ALLOWLIST");
    expect(() => access.requireTopic(token("read:*"), "a b")).toThrow("not a legal Kafka topic name");
    expect(access.topicVisible(token("read:*"), "users")).toBe(false);
    expect(access.topicVisible(token("read:*"), "payments.eu")).toBe(true);
    expect(access.topicVisible(token("read:orders"), "payments.eu")).toBe(false);
    expect(access.topicVisible(token("pii admin"), "orders")).toBe(false);
  });

  it("resolves ListPayments' topics against the stored ones; a full grant on a full allowlist needs none", () => {
    const stored = ["payments.eu", "payments.us", "orders", "users"];
    expect(access.listScope(token("read:payments.*"), stored)).toEqual({
      topics: ["payments.eu", "payments.us"],
    });
    expect(access.listScope(token("read:*"), stored)).toEqual({
      topics: ["payments.eu", "payments.us", "orders"],
    });
    expect(access.listScope(token("admin"), stored)).toEqual({ topics: [] });
    const open = new Access({ topicAllowlist: ["*"], piiMetadataKeys: [] });
    expect(open.listScope(ANONYMOUS, stored)).toEqual({});
    expect(open.listScope(token("read:orders"), stored)).toEqual({ topics: ["orders"] });
  });
});

describe("Access: tenants", () => {
  it("binds a tenant identity to its payments; others see every payment of visible topics", () => {
    const bound = token("read:*", "m1");
    expect(access.tenantOf(bound)).toEqual({ key: "merchant_id", value: "m1" });
    expect(access.maySee(bound, stored("orders", { merchant_id: "m1" }))).toBe(true);
    expect(access.maySee(bound, stored("orders", { merchant_id: "m2" }))).toBe(false);
    expect(access.maySee(bound, stored("orders", {}))).toBe(false);
    expect(access.maySee(bound, stored("users", { merchant_id: "m1" }))).toBe(false);
    expect(access.maySee(token("read:orders"), stored("orders"))).toBe(true);
    expect(access.listScope(bound, ["orders"])).toEqual({
      topics: ["orders"],
      tenant: { key: "merchant_id", value: "m1" },
    });
  });

  it("a tenant-bound identity sees nothing on a pa without TENANT_METADATA_KEY", () => {
    const keyless = new Access({ topicAllowlist: ["*"], piiMetadataKeys: [] });
    expect(() => keyless.tenantOf(token("read:*", "m1"))).toThrow("TENANT_METADATA_KEY");
    expect(() => keyless.maySee(token("read:*", "m1"), stored("orders"))).toThrow(PermissionError);
  });
});

describe("Access: admin and pii", () => {
  it("the dead-letter service needs admin and the topic", () => {
    expect(() => access.requireAdmin(token("read:orders"), "orders")).toThrow('no "admin" grant');
    expect(() => access.requireAdmin(token("admin read:orders"), "payments.eu")).toThrow(
      'no "read:payments.eu" grant',
    );
    expect(access.requireAdmin(token("admin read:orders"), "orders")).toBe("orders");
  });

  it("masks payments and events for an identity without pii only", () => {
    const payment = stored("orders", { email: "a@b.c", merchant_id: "m1" }).payment;
    expect(access.payment(token("read:*"), payment).customerEmail).toBe("a***@example.com");
    expect(access.payment(token("read:*"), payment).metadata).toEqual({ merchant_id: "m1" });
    expect(access.payment(token("read:* pii"), payment)).toBe(payment);
    expect(access.eventView(token("read:* pii"))).toBeUndefined();
    expect(access.eventView(token("read:*"))).toBeTypeOf("function");
    expect(() => access.requirePii(token("read:*"), "filtering by customer_email")).toThrow(
      'no "pii" grant, which filtering by customer_email needs',
    );
  });
});
