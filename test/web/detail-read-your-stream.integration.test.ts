// The detail panel reads the store as of the event on screen: real Chromium, the built dashboard
// and a real pa whose view (the store that follows the log) is held back at a gate, so the
// dashboard shows payments the store does not have yet. Opening one never says "not found": the
// panel waits for the store (consistent_with: the event's cursor), says "not stored yet" with a
// Retry when the store has not caught up within its deadline, and shows the stored state after. For
// a topic streamed read-only, whose payments pa never stores, it says so.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTopics, produce, uniqueTopic } from "../support/kafka.js";
import { type RunningPa, startPa } from "../support/pa.js";
import { waitUntil } from "../support/streams.js";
import { ViewGate } from "../support/view-store.js";
import { buildDashboard, CHROMIUM_ARGS, chromiumPath, SCREENSHOT_DIR } from "./support/browser.js";

const bootstrap = inject("kafkaBootstrap");
const topic = uniqueTopic("web-read-your-stream");
const readOnlyTopic = uniqueTopic("web-read-only");
const gate = new ViewGate();
const UI_TIMEOUT = 30_000;

const payment = (id: string) => ({
  key: id,
  value: JSON.stringify({
    id,
    provider: "stripe",
    amount: 4200,
    currency: "usd",
    status: "pending",
    customer_email: "held@example.com",
    created_at: 1_763_000_000,
  }),
});

let pa: RunningPa;
let browser: Browser;
let page: Page;

const row = (id: string) => page.locator(`tbody tr[data-payment-id="${id}"]`);

async function openDetail(id: string) {
  await row(id).getByRole("button", { name: id }).click();
  const dialog = page.getByRole("dialog", { name: `Payment ${id}` });
  await dialog.waitFor();
  return {
    dialog,
    stored: dialog.getByRole("region", { name: "Stored state" }),
    customer: dialog.getByRole("region", { name: "Customer's stored payments" }),
  };
}

/** GetPayment without consistent_with, as any client would call it: pa's answer code. */
async function plainGetPayment(id: string): Promise<string | undefined> {
  const response = await fetch(`${pa.baseUrl}/payment.PaymentService/GetPayment`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ paymentId: id }),
  });
  return response.ok ? "ok" : ((await response.json()) as { code?: string }).code;
}

describe("the dashboard's detail panel reads your stream", () => {
  beforeAll(async () => {
    const executablePath = chromiumPath();
    buildDashboard();
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await createTopics(bootstrap, [topic, readOnlyTopic]);
    // A write waits at the gate far longer than the test: no retry or breaker meanwhile.
    pa = await startPa(
      bootstrap,
      { WRITE_ATTEMPT_TIMEOUT: "5m", PROCESS_TOPICS: topic },
      { viewStore: (store) => gate.wrap(store) },
    );
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ locale: "en-US", timezoneId: "UTC" });
    page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT);
    await page.goto(`${pa.baseUrl}/?topic=${encodeURIComponent(topic)}`);
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1, UI_TIMEOUT);
  }, 120_000);

  afterAll(async () => {
    gate.open();
    await browser?.close();
    await pa?.stop();
  });

  it("says 'not stored yet' with a Retry while the store lags, never 'not found', and shows it after", async () => {
    gate.shut();
    await produce(bootstrap, topic, [payment("pay_held_1")]);
    await row("pay_held_1").waitFor();
    // Its view write waits at the gate (an idle view gathers records for a few ms first).
    await waitUntil(() => gate.writesHeld > 0);
    // What a read without the event's cursor gets at this moment.
    expect(await plainGetPayment("pay_held_1")).toBe("not_found");

    const { dialog, stored, customer } = await openDetail("pay_held_1");
    await expect.poll(() => stored.textContent()).toContain("waiting for the store to reach this event");
    // The panel's deadline passes while the gate is shut.
    await expect.poll(() => stored.textContent(), { timeout: UI_TIMEOUT }).toContain("Not stored yet");
    await expect.poll(() => customer.textContent(), { timeout: UI_TIMEOUT }).toContain("Not stored yet");
    expect(await dialog.textContent()).not.toMatch(/not found/i);
    await page.screenshot({
      path: join(SCREENSHOT_DIR, "dashboard-ryos-1-not-stored-yet.png"),
      fullPage: true,
    });

    gate.open();
    await stored.getByRole("button", { name: "Retry" }).click();
    await customer.getByRole("button", { name: "Retry" }).click();
    await expect.poll(() => stored.textContent()).toContain(`${topic} p`);
    expect(await stored.textContent()).toContain("pending");
    await expect.poll(() => customer.textContent()).toContain("pay_held_1");
    await page.keyboard.press("Escape");
    await expect.poll(() => dialog.count()).toBe(0);
  }, 120_000);

  it("waits for the store instead, and shows the payment once the store has it", async () => {
    gate.shut();
    await produce(bootstrap, topic, [payment("pay_held_2")]);
    await row("pay_held_2").waitFor();
    expect(await plainGetPayment("pay_held_2")).toBe("not_found");

    const { dialog, stored, customer } = await openDetail("pay_held_2");
    await expect.poll(() => stored.textContent()).toContain("waiting for the store to reach this event");
    await page.screenshot({ path: join(SCREENSHOT_DIR, "dashboard-ryos-2-waiting.png"), fullPage: true });
    gate.open();
    await expect.poll(() => stored.textContent()).toContain(`${topic} p`);
    expect(await stored.textContent()).toContain("pending");
    await expect.poll(() => customer.textContent()).toContain("pay_held_2");
    expect(await customer.textContent()).toContain("pay_held_1");
    expect(await dialog.textContent()).not.toMatch(/not found|not stored yet/i);
    await page.screenshot({ path: join(SCREENSHOT_DIR, "dashboard-ryos-3-stored.png"), fullPage: true });
  }, 120_000);

  it("says a read-only topic's payment is not stored, rather than not found", async () => {
    await page.goto(`${pa.baseUrl}/?topic=${encodeURIComponent(readOnlyTopic)}`);
    await waitUntil(() => pa.app.hub.subscriptionsOf(readOnlyTopic).length === 1, UI_TIMEOUT);
    await produce(bootstrap, readOnlyTopic, [payment("pay_read_only")]);
    await row("pay_read_only").waitFor();
    const { dialog, stored, customer } = await openDetail("pay_read_only");
    await expect.poll(() => stored.textContent()).toContain("streamed read-only (not in PROCESS_TOPICS)");
    await expect.poll(() => customer.textContent()).toContain("streamed read-only");
    expect(await dialog.textContent()).not.toMatch(/not found|failed/i);
  }, 120_000);
});
