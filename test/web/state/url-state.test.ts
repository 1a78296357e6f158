import { describe, expect, it } from "vitest";
import { readViewState, viewStateToSearch } from "../../../web/src/state/url-state.js";

describe("URL state", () => {
  it("round-trips the CEL filter pa applies to the stream", () => {
    const filter = 'payment.metadata["channel"] == "web" && payment.amount_minor >= 100000';
    const state = readViewState(`?topic=t&filter=${encodeURIComponent(filter)}`);
    expect(state.filter).toBe(filter);
    expect(readViewState(viewStateToSearch(state))).toEqual(state);
  });

  it("round-trips topic, start and filters", () => {
    const search =
      "?topic=payments&start=2026-11-23T10%3A00%3A00.000Z&provider=stripe&status=failed&currency=USD&q=pay_1";
    const state = readViewState(search);
    expect(state.topic).toBe("payments");
    expect(state.start).toEqual({ kind: "time", at: new Date("2026-11-23T10:00:00.000Z") });
    expect(state.filters).toEqual({ provider: "stripe", status: "failed", currency: "USD", text: "pay_1" });
    expect(state.maxRows).toBeUndefined();
    expect(readViewState(viewStateToSearch(state))).toEqual(state);
  });

  it("leaves defaults out of the URL", () => {
    expect(viewStateToSearch(readViewState("?topic=t&start=latest"))).toBe("?topic=t");
    expect(viewStateToSearch(readViewState(""))).toBe("");
  });

  it("keeps a valid row bound and ignores a bad one", () => {
    expect(readViewState("?rows=5000").maxRows).toBe(5000);
    expect(viewStateToSearch(readViewState("?topic=t&rows=5000"))).toBe("?topic=t&rows=5000");
    expect(readViewState("?rows=-1").maxRows).toBeUndefined();
    expect(readViewState("?rows=lots").maxRows).toBeUndefined();
  });

  it("reads a bad start as latest", () => {
    expect(readViewState("?start=yesterday").start).toEqual({ kind: "latest" });
    expect(readViewState("?start=earliest").start).toEqual({ kind: "earliest" });
  });
});
