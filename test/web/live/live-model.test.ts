import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  PaymentEventSchema,
  PaymentSchema,
  PaymentStatus,
  Provider,
} from "../../../gen/payment/payment_pb.js";
import { LiveModel, type LiveRow } from "../../../web/src/live/live-model.js";
import { NO_FILTERS } from "../../../web/src/state/url-state.js";

function event(
  id: string,
  offset: number,
  fields: Partial<{ provider: Provider; status: PaymentStatus; currency: string }> = {},
) {
  return create(PaymentEventSchema, {
    eventType: offset < 0 ? "existing" : "new",
    topic: "t",
    partition: 0,
    offset: BigInt(offset),
    payment: create(PaymentSchema, {
      id,
      provider: fields.provider ?? Provider.STRIPE,
      status: fields.status ?? PaymentStatus.STATUS_COMPLETED,
      currency: fields.currency ?? "USD",
      amount: 1,
      amountMinor: 100n,
      customerEmail: `${id}@example.com`,
    }),
  });
}

/** A model whose frames run when the test says so. */
function manualModel(maxRows: number) {
  const frames: (() => void)[] = [];
  const model = new LiveModel(maxRows, (flush) => frames.push(flush));
  const runFrame = () => {
    for (const flush of frames.splice(0)) flush();
  };
  return { model, frames, runFrame };
}

function rowsOf(model: LiveModel, filters = NO_FILTERS): LiveRow[] {
  const view = model.view(filters);
  return Array.from({ length: view.length }, (_, i) => view.at(i) as LiveRow);
}
const ids = (model: LiveModel, filters = NO_FILTERS) =>
  rowsOf(model, filters).map((row) => row.event.payment?.id);

describe("LiveModel", () => {
  it("applies every event of a frame in one change, newest first", () => {
    const { model, frames, runFrame } = manualModel(10);
    let changes = 0;
    model.subscribe(() => changes++);
    for (let i = 0; i < 5; i++) model.add(event(`p${i}`, i));
    expect(frames).toHaveLength(1);
    expect(ids(model)).toEqual([]);
    runFrame();
    expect(changes).toBe(1);
    expect(ids(model)).toEqual(["p4", "p3", "p2", "p1", "p0"]);
  });

  it("waits for the next frame after minApplyGapMs when the last apply was recent", () => {
    const frames: (() => void)[] = [];
    let clock = 1000;
    const model = new LiveModel(
      10,
      (flush) => frames.push(flush),
      100,
      () => clock,
    );
    model.add(event("a", 0));
    frames.shift()?.();
    expect(model.rows.length).toBe(1);
    model.add(event("b", 1));
    clock += 16;
    frames.shift()?.();
    expect(model.rows.length).toBe(1);
    expect(frames).toHaveLength(1);
    clock += 100;
    frames.shift()?.();
    expect(model.rows.length).toBe(2);
  });

  it("keeps at most maxRows rows", () => {
    const { model, runFrame } = manualModel(3);
    for (let i = 0; i < 10; i++) model.add(event(`p${i}`, i));
    runFrame();
    expect(ids(model)).toEqual(["p9", "p8", "p7"]);
    expect(model.received).toBe(10);
  });

  it("holds arrivals while paused, counts them, and shows them all on resume", () => {
    const { model, runFrame } = manualModel(100);
    model.add(event("before", 0));
    runFrame();
    model.pause();
    model.add(event("w1", 1));
    model.add(event("w2", 2));
    runFrame();
    expect(ids(model)).toEqual(["before"]);
    expect(model.waitingCount).toBe(2);
    model.resume();
    expect(model.waitingCount).toBe(0);
    expect(ids(model)).toEqual(["w2", "w1", "before"]);
  });

  it("filters by provider, status, currency and text on id or email", () => {
    const { model, runFrame } = manualModel(100);
    model.add(event("pay_a", 0, { provider: Provider.PAYPAL, currency: "EUR" }));
    model.add(event("pay_b", 1, { status: PaymentStatus.STATUS_FAILED }));
    model.add(event("pay_c", 2));
    runFrame();
    expect(ids(model, { ...NO_FILTERS, provider: "paypal" })).toEqual(["pay_a"]);
    expect(ids(model, { ...NO_FILTERS, status: "failed" })).toEqual(["pay_b"]);
    expect(model.view({ ...NO_FILTERS, currency: "usd" })).toHaveLength(2);
    expect(ids(model, { ...NO_FILTERS, text: "PAY_C@EXAMPLE" })).toEqual(["pay_c"]);
  });

  it("marks existing events and counts only new ones per second", () => {
    const { model, runFrame } = manualModel(100);
    model.add(event("old", -1));
    model.add(event("fresh", 5));
    runFrame();
    const rows = rowsOf(model);
    expect(rows.map((r) => r.existing)).toEqual([false, true]);
    const seconds = model.recentSeconds();
    expect(seconds.reduce((sum, s) => sum + s.events, 0)).toBe(1);
    expect(seconds.at(-1)?.amounts.get("USD")).toBe(1);
  });
});
