// The dashboard's health panel in Chromium: with a deliberately slow client on a topic, the panel's
// "slowest subscriber" column names it (identity and address) with how far behind it is, and the
// partitions this instance processes read as partitions.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPaymentGenerator } from "../../server/demo/payment-generator.js";
import { createTopics, produce, uniqueTopic } from "../support/kafka.js";
import { type RunningPa, startPa } from "../support/pa.js";
import { slowReader } from "../support/slow-reader.js";
import { waitUntil } from "../support/streams.js";
import { buildDashboard, CHROMIUM_ARGS, chromiumPath, SCREENSHOT_DIR } from "./support/browser.js";

const bootstrap = inject("kafkaBootstrap");

describe("the health panel in Chromium", () => {
  let pa: RunningPa;
  let browser: Browser;

  beforeAll(async () => {
    const executablePath = chromiumPath();
    buildDashboard();
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    pa = await startPa(bootstrap, { STREAM_BUFFER_EVENTS: "64", STREAM_BUFFER_BYTES: "16384" });
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await pa?.stop();
  });

  it("names the slow client as the slowest subscriber, with its lag", async () => {
    const topic = uniqueTopic("web-slowest");
    await createTopics(bootstrap, [topic]);
    const context = await browser.newContext({
      locale: "en-US",
      timezoneId: "UTC",
      viewport: { width: 1440, height: 900 },
    });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    // The dashboard itself is a fast subscriber of the topic.
    await page.goto(`${pa.baseUrl}/?topic=${encodeURIComponent(topic)}`);
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1, 30_000);
    const slow = slowReader(pa.baseUrl, topic, 500);
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 2);
    const generator = createPaymentGenerator({ seed: 21 });
    await produce(
      bootstrap,
      topic,
      Array.from({ length: 3000 }, () => generator.valid()),
    );

    const health = page.getByRole("region", { name: "Health" });
    // The line under the topic's row (the dashboard watches only this topic).
    const row = health.locator("tbody tr.subscribers");
    const slowest = `anonymous at 127.0.0.1:${slow.localPort()}`;
    await expect.poll(() => row.textContent(), { timeout: 30_000 }).toContain(slowest);
    const line = await row.textContent();
    const behind = Number(/slowest: .* · ([\d,]+) behind/.exec(line ?? "")?.[1]?.replaceAll(",", ""));
    expect(behind).toBeGreaterThan(100);
    expect(line).toMatch(
      /subscribers behind \(median \/ p99\): [\d,]+ \/ [\d,]+ records · [\d.,]+ ms \/ [\d.,]+ ms/,
    );
    // The repeated fields of TopicStatus read as partitions, not as nothing: this instance
    // processes all 3 of a topic no group shares, and nobody's partitions wait (no warning line).
    await expect
      .poll(() => health.locator('tbody [data-field="processed_partitions"] strong').textContent())
      .toBe("0-2");
    expect(await health.locator("tbody tr.unprocessed").count()).toBe(0);
    await page.screenshot({
      path: join(SCREENSHOT_DIR, "dashboard-health-slowest-subscriber.png"),
      fullPage: true,
    });
    slow.close();
    await context.close();
  });
});
