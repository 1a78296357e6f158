// The dashboard end to end: real headless Chromium (Debian's, driven by playwright-core) opens the
// built dashboard served by a real pa on its one port, against the real broker. Each step is what
// an operator does; screenshots of every step go to test-results/screenshots/.
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from "vitest";
import { createTopics, produce, uniqueTopic } from "../support/kafka.js";
import { type RunningPa, startPa } from "../support/pa.js";
import { waitUntil } from "../support/streams.js";
import { buildDashboard, CHROMIUM_ARGS, chromiumPath, SCREENSHOT_DIR } from "./support/browser.js";

const bootstrap = inject("kafkaBootstrap");
const topic = uniqueTopic("web");
const dataDir = mkdtempSync(join(tmpdir(), "pa-web-data-"));
const groupId = `test-web-${Date.now().toString(36)}`;
const UI_TIMEOUT = 30_000;

const payment = (id: string, fields: Record<string, unknown>) => ({
  key: id,
  value: JSON.stringify({ id, customer_email: `${id}@example.com`, created_at: 1_763_000_000, ...fields }),
});

let pa: RunningPa;
let browser: Browser;
let page: Page;

async function snap(name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOT_DIR, `dashboard-${name}.png`), fullPage: true });
}

const row = (id: string) => page.locator(`tbody tr[data-payment-id="${id}"]`);

describe("the live dashboard in Chromium", () => {
  beforeAll(async () => {
    // First, so that a machine without a browser fails here with what to install, and nothing else.
    const executablePath = chromiumPath();
    buildDashboard();
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await createTopics(bootstrap, [topic], 3);
    // Two payments stored before anyone watches: they arrive as "existing" events.
    await produce(bootstrap, topic, [
      payment("pay_old_1", { provider: "stripe", amount: 1999, currency: "usd", status: "succeeded" }),
      payment("pay_old_2", { provider: "stripe", amount: 250, currency: "eur", status: "pending" }),
    ]);
    pa = await startPa(bootstrap, { KAFKA_TOPIC: topic, DATA_DIR: dataDir, KAFKA_GROUP_ID: groupId });
    await waitUntil(async () => {
      const list = await fetch(
        `${pa.baseUrl}/payment.PaymentService/ListPayments?encoding=json&message=${encodeURIComponent(JSON.stringify({ topic }))}`,
      ).then((r) => r.json() as Promise<{ totalCount?: number }>);
      return list.totalCount === 2;
    }, 60_000);
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    const context = await browser.newContext({
      locale: "en-US",
      timezoneId: "UTC",
      viewport: { width: 1440, height: 900 },
    });
    page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT);
  });

  afterAll(async () => {
    await browser?.close();
    await pa?.stop();
  });

  it("is served by pa at / with its hashed assets cached", async () => {
    const response = await page.goto(`${pa.baseUrl}/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-type"]).toContain("text/html");
    const script = await page.locator("script[type=module]").getAttribute("src");
    expect(script).toMatch(/^\/assets\/.+\.js$/);
    const asset = await fetch(`${pa.baseUrl}${script}`);
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect(asset.headers.get("content-type")).toContain("text/javascript");
    await expect.poll(() => page.getByRole("heading", { name: /live payments/ }).count()).toBe(1);
  });

  it("picks a topic and shows existing, then new payments with exact money", async () => {
    await page.getByLabel("Topic").fill(topic);
    await page.getByRole("button", { name: "Watch" }).click();
    await row("pay_old_1").waitFor();
    expect(page.url()).toContain(`topic=${encodeURIComponent(topic)}`);
    // The stored payments were listed; the stream goes on from the list's position and has sent
    // nothing yet, until the first new payment.
    await expect
      .poll(() => page.locator("header .state").textContent(), { timeout: UI_TIMEOUT })
      .toBe("live, no events yet");
    expect(await row("pay_old_1").locator(".amount").textContent()).toBe("$19.99");
    expect(await row("pay_old_2").locator(".amount").textContent()).toBe("€2.50");
    expect(await row("pay_old_1").getAttribute("class")).toContain("existing");

    await produce(bootstrap, topic, [
      payment("pay_usd", { provider: "stripe", amount: 5000, currency: "usd", status: "succeeded" }),
      payment("pay_jpy", { provider: "stripe", amount: 5000, currency: "jpy", status: "succeeded" }),
      payment("pay_paypal", { provider: "paypal", amount: "10.50", currency: "usd", status: "COMPLETED" }),
      // PayPal does not take KWD; Razorpay writes 1.234 KWD as 1234.
      payment("pay_kwd", { provider: "razorpay", amount: 1234, currency: "kwd", status: "pending" }),
      payment("pay_inr", { provider: "razorpay", amount: 150000, currency: "inr", status: "failed" }),
    ]);
    const expected: Record<string, string> = {
      pay_usd: "$50.00",
      pay_jpy: "¥5,000",
      pay_paypal: "$10.50",
      // Intl puts a no-break space between a currency code and the number.
      pay_kwd: "KWD\u00a01.234",
      pay_inr: "₹1,500.00",
    };
    for (const [id, amount] of Object.entries(expected)) {
      await row(id).waitFor();
      expect(await row(id).locator(".amount").textContent()).toBe(amount);
      expect(await row(id).getAttribute("class")).toContain("new");
    }
    await expect
      .poll(() => page.locator("header .state").textContent(), { timeout: UI_TIMEOUT })
      .toBe("live");
    expect(await row("pay_inr").locator(".badge").textContent()).toBe("failed");
    // Newest first: the first rendered row is not one of the stored ones.
    const first = await page.locator("tbody tr[data-payment-id]").first().getAttribute("data-payment-id");
    expect(Object.keys(expected)).toContain(first);
    await snap("1-live");
  });

  it("filters by provider, currency and text, and keeps the filters in the URL", async () => {
    await page.getByLabel("Provider").selectOption("razorpay");
    await expect.poll(() => page.locator("tbody tr[data-payment-id]").count()).toBe(2);
    await expect.poll(() => page.url()).toContain("provider=razorpay");
    await page.getByLabel("Currency").fill("KWD");
    await expect.poll(() => page.locator("tbody tr[data-payment-id]").count()).toBe(1);
    await snap("2-filtered");
    await page.getByLabel("Provider").selectOption("");
    await page.getByLabel("Currency").fill("");
    await page.getByLabel("Search").fill("pay_old_2@example");
    await expect.poll(() => page.locator("tbody tr[data-payment-id]").count()).toBe(1);
    expect(await page.locator("tbody tr[data-payment-id]").getAttribute("data-payment-id")).toBe("pay_old_2");
    // A shared link opens the same view.
    const shared = await page.context().newPage();
    await shared.goto(page.url());
    await shared.locator('tbody tr[data-payment-id="pay_old_2"]').waitFor({ timeout: UI_TIMEOUT });
    expect(await shared.getByLabel("Search").inputValue()).toBe("pay_old_2@example");
    await shared.close();
    await page.getByLabel("Search").fill("");
    await expect.poll(() => page.locator("tbody tr[data-payment-id]").count()).toBe(7);
  });

  it("pauses with a count of what waits, and resumes with all of it", async () => {
    await page.getByRole("button", { name: "Pause" }).click();
    await produce(bootstrap, topic, [
      payment("pay_wait_1", { provider: "stripe", amount: 100, currency: "gbp", status: "succeeded" }),
      payment("pay_wait_2", { provider: "stripe", amount: 200, currency: "gbp", status: "succeeded" }),
      payment("pay_wait_3", { provider: "stripe", amount: 300, currency: "gbp", status: "succeeded" }),
    ]);
    const resume = page.getByRole("button", { name: /Resume \(3 waiting\)/ });
    await resume.waitFor();
    expect(await row("pay_wait_1").count()).toBe(0);
    await snap("3-paused");
    await resume.click();
    await row("pay_wait_3").waitFor();
    expect(await row("pay_wait_2").locator(".amount").textContent()).toBe("£2.00");
    await expect.poll(() => page.locator("tbody tr[data-payment-id]").count()).toBe(10);
  });

  it("opens a payment's detail with its source, cursor and stored state, and closes with Escape", async () => {
    // By keyboard: the id is a button; Enter opens the detail.
    await row("pay_kwd").getByRole("button", { name: "pay_kwd" }).focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "Payment pay_kwd" });
    await dialog.waitFor();
    await expect.poll(() => dialog.textContent()).toContain("KWD\u00a01.234");
    expect(await dialog.textContent()).toContain("1234 (KWD minor units)");
    const cursor = await dialog.locator("dd.mono").textContent();
    expect(cursor?.length).toBeGreaterThan(4);
    await expect
      .poll(() => dialog.getByRole("region", { name: "Stored state" }).textContent())
      .toContain(topic);
    expect(await dialog.getByRole("region", { name: "Stored state" }).textContent()).toContain("pending");
    await snap("4-detail");
    await page.keyboard.press("Escape");
    await expect.poll(() => dialog.count()).toBe(0);
  });

  it("shows what went to the dead-letter queue, with its reason", async () => {
    // Stripe amounts are minor units: 45.99 is fractional and is dead-lettered with a reason.
    await produce(bootstrap, topic, [
      payment("pay_major", { provider: "stripe", amount: 45.99, currency: "usd", status: "succeeded" }),
    ]);
    const panel = page.getByRole("region", { name: "Dead letters" });
    await expect.poll(() => panel.textContent(), { timeout: UI_TIMEOUT }).toContain("invalid_amount");
    expect(await panel.textContent()).toContain("AMOUNT_UNITS");
    await snap("5-dlq");
  });

  it("survives a pa restart, resuming from its cursor without gaps or duplicates", async () => {
    const port = pa.port;
    await pa.stop();
    await expect
      .poll(() => page.locator("header .state").textContent(), { timeout: UI_TIMEOUT })
      .toMatch(/reconnecting/);
    // Produced while pa is down: the resumed stream must deliver it exactly once.
    await produce(bootstrap, topic, [
      payment("pay_during_restart", {
        provider: "paypal",
        amount: "7.25",
        currency: "usd",
        status: "COMPLETED",
      }),
    ]);
    await snap("6-reconnecting");
    // The same port and data, as an operator's restart.
    pa = await startPa(bootstrap, {
      KAFKA_TOPIC: topic,
      DATA_DIR: dataDir,
      KAFKA_GROUP_ID: groupId,
      GRPC_PORT: String(port),
    });
    await row("pay_during_restart").waitFor({ timeout: 60_000 });
    await expect
      .poll(() => page.locator("header .state").textContent(), { timeout: UI_TIMEOUT })
      .toBe("live");
    await produce(bootstrap, topic, [
      payment("pay_after_restart", {
        provider: "paypal",
        amount: "1.00",
        currency: "usd",
        status: "COMPLETED",
      }),
    ]);
    await row("pay_after_restart").waitFor();
    const ids = await page
      .locator("tbody tr[data-payment-id]")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-payment-id")));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(12);
    await snap("7-after-restart");
  }, 180_000);

  it("redrives the dead letter, which fails again and is marked as redriven", async () => {
    const panel = page.getByRole("region", { name: "Dead letters" });
    await panel.getByRole("button", { name: "Redrive all" }).click();
    await expect.poll(() => panel.textContent(), { timeout: UI_TIMEOUT }).toContain("Redriven 1");
    // Stripe amounts are still minor units, so the record is dead-lettered again, now as redriven.
    await expect.poll(() => panel.textContent(), { timeout: UI_TIMEOUT }).toContain("redriven 1×");
    await snap("8-redriven");
  });

  it("starts from the earliest record when the URL says so", async () => {
    const other = await page.context().newPage();
    onTestFinished(() => other.close());
    await other.goto(`${pa.baseUrl}/?topic=${encodeURIComponent(topic)}&start=earliest&q=pay_old_1`);
    // From Kafka's start, the first record is replayed from Kafka (with its offset), not the store.
    await other.locator('tbody tr.new[data-payment-id="pay_old_1"]').waitFor({ timeout: UI_TIMEOUT });
    expect(await other.locator('tbody tr.existing[data-payment-id="pay_old_1"]').count()).toBe(0);
    expect(await other.getByLabel("Start").inputValue()).toBe("earliest");
    await other.screenshot({ path: join(SCREENSHOT_DIR, "dashboard-8b-earliest.png") });
  });

  it("takes a CEL filter that pa applies, showing where one does not compile under the box", async () => {
    const other = await page.context().newPage();
    onTestFinished(() => other.close());
    const broken = 'payment.currency == "JPY" &&';
    await other.goto(
      `${pa.baseUrl}/?topic=${encodeURIComponent(topic)}&filter=${encodeURIComponent(broken)}`,
    );
    const box = other.getByLabel("CEL filter");
    expect(await box.inputValue()).toBe(broken);
    const error = other.locator("#cel-error");
    await expect
      .poll(() => error.textContent(), { timeout: UI_TIMEOUT })
      .toMatch(/^filter does not compile at line 1, column \d+: /);
    expect(await box.getAttribute("aria-invalid")).toBe("true");
    await other.screenshot({ path: join(SCREENSHOT_DIR, "dashboard-8c-cel-error.png") });

    await box.fill('payment.currency == "JPY"');
    await other.getByRole("button", { name: /^Apply/ }).click();
    await other.locator('tbody tr[data-payment-id="pay_jpy"]').waitFor({ timeout: UI_TIMEOUT });
    expect(await error.count()).toBe(0);
    expect(await other.locator("tbody tr[data-payment-id]").count()).toBe(1);
    expect(other.url()).toContain(
      `filter=${encodeURIComponent('payment.currency == "JPY"').replace(/%20/g, "+")}`,
    );
    await other.screenshot({ path: join(SCREENSHOT_DIR, "dashboard-8d-cel-filter.png") });
  });

  it("switches to the dark theme and says in plain words when a topic does not exist", async () => {
    await page.getByRole("button", { name: "Switch to dark theme" }).click();
    await expect.poll(() => page.locator("html").getAttribute("data-theme")).toBe("dark");
    await page.getByLabel("Topic").fill(`${topic}.missing`);
    await page.getByRole("button", { name: "Watch" }).click();
    const alert = page.getByRole("alert").first();
    await expect.poll(() => alert.textContent(), { timeout: UI_TIMEOUT }).toMatch(/Not found/);
    await snap("9-dark-not-found");
  });
});
