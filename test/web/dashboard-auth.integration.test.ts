// The dashboard in front of a pa that asks for a credential (AUTH_MODE=token), in real headless
// Chromium: pa's UNAUTHENTICATED brings up a token field with pa's reason, the token goes to pa as
// `authorization: Bearer` from both transports (gRPC-Web stream, Connect unary calls), it stays
// for the tab (sessionStorage) across a reload, and a refused one asks again.
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { newApiKey, sha256Hex, writeTokensFile } from "../support/auth.js";
import { createTopics, produce, uniqueTopic } from "../support/kafka.js";
import { type RunningPa, startPa } from "../support/pa.js";
import { buildDashboard, CHROMIUM_ARGS, chromiumPath, SCREENSHOT_DIR } from "./support/browser.js";

const bootstrap = inject("kafkaBootstrap");
const topic = uniqueTopic("web-auth");
const key = newApiKey();
const UI_TIMEOUT = 30_000;

let pa: RunningPa;
let browser: Browser;
let page: Page;

const row = (id: string) => page.locator(`tbody tr[data-payment-id="${id}"]`);
const prompt = () => page.getByRole("form", { name: "Token" });

describe("the dashboard with AUTH_MODE=token", () => {
  beforeAll(async () => {
    buildDashboard();
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const tokensPath = join(mkdtempSync(join(tmpdir(), "pa-web-tokens-")), "tokens.json");
    writeTokensFile(tokensPath, [{ name: "operator", sha256: sha256Hex(key), scope: "read:* admin pii" }]);
    await createTopics(bootstrap, [topic], 1);
    await produce(bootstrap, topic, [
      {
        key: "pay_web_auth",
        value: JSON.stringify({ id: "pay_web_auth", provider: "stripe", amount: 1999, currency: "usd" }),
      },
    ]);
    pa = await startPa(bootstrap, { KAFKA_TOPIC: topic, AUTH_MODE: "token", AUTH_TOKENS_FILE: tokensPath });
    browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
    page = await (await browser.newContext({ locale: "en-US", timezoneId: "UTC" })).newPage();
    page.setDefaultTimeout(UI_TIMEOUT);
  });
  afterAll(async () => {
    await browser?.close();
    await pa?.stop();
  });

  it("asks for a token with pa's reason when pa answers UNAUTHENTICATED", async () => {
    await page.goto(`${pa.baseUrl}/?topic=${encodeURIComponent(topic)}&start=earliest`);
    await prompt().waitFor();
    expect(await prompt().getByRole("alert").textContent()).toMatch(
      /This pa asks who you are: no credential: send authorization: Bearer <API key>/,
    );
    expect(await row("pay_web_auth").count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOT_DIR, "dashboard-auth-prompt.png"), fullPage: true });
  });

  it("says so when the token is refused, and streams once a valid one is given", async () => {
    await prompt().getByLabel("API key or JWT").fill(newApiKey());
    await prompt().getByRole("button", { name: "Use token" }).click();
    await expect
      .poll(() => prompt().getByRole("alert").textContent(), { timeout: UI_TIMEOUT })
      .toMatch(/pa refused the token: the API key is not known/);

    await prompt().getByLabel("API key or JWT").fill(key);
    await prompt().getByRole("button", { name: "Use token" }).click();
    await row("pay_web_auth").waitFor();
    expect(await prompt().count()).toBe(0);
    // The Connect unary calls carry it too: the topic list polled from pa fills the picker.
    await expect
      .poll(() => page.locator(".state").first().textContent(), { timeout: UI_TIMEOUT })
      .toBe("live");
    expect(await page.evaluate(`sessionStorage.getItem("pa-token")`)).toBe(key);
    expect(await page.evaluate(`localStorage.getItem("pa-token")`)).toBeNull();
  });

  it("keeps the token for the tab across a reload, and asks again once it is forgotten", async () => {
    await page.reload();
    await row("pay_web_auth").waitFor();
    expect(await prompt().count()).toBe(0);
    await page.getByRole("button", { name: "forget token" }).click();
    await page.reload();
    await prompt().waitFor();
  });
});
