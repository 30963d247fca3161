/**
 * The HTML drift report as a person sees it: served by the real service, rendered by a real headless
 * Chromium (Debian's /usr/bin/chromium, installed by scripts/setup.sh).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { createLogger, parseEnv } from "@mlops/common";
import { startDriftService, type DriftApp } from "../../../services/drift/src/service/app";
import { envSchema } from "../../../services/drift/src/service/env";
import { EVENTS_TOKEN, events, MODEL, NUMERIC, post, referenceProfile, writeProfile } from "./helpers/world";

const CHROMIUM = "/usr/bin/chromium";

describe("drift report page in headless Chromium", () => {
  let app: DriftApp;
  let context: BrowserContext;
  let profileDir: string;
  let base: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: run the set-up command (scripts/setup.sh) to install Debian's chromium`);
    }
    const env = parseEnv(envSchema, {
      PORT: "0",
      METRICS_PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "silent",
      MODEL_NAME: MODEL,
      EVENTS_TOKEN,
      REFERENCE_URI: writeProfile(referenceProfile()),
      EVALUATION_INTERVAL_S: "3600",
      WINDOW_MAX_ROWS: "3000",
    });
    app = await startDriftService(env, createLogger("drift-test", "silent"));
    await app.referenceLoaded;
    base = `http://127.0.0.1:${app.service.apiPort}`;
    // Half like the reference, half shifted: some features drift, the page has both verdicts.
    await post(base, "/v1/events", { events: events(1500, { seed: 31 }) });
    await post(base, "/v1/events", { events: events(1500, { seed: 32, shift: 1.5 }) });
    profileDir = mkdtempSync(path.join(tmpdir(), "drift-chromium-"));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });

  afterAll(async () => {
    await context?.close();
    await app?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  it("shows the verdict, a table of columns and a histogram per column", async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(e.message));
    // Evaluating changes the detector's state (EVENTS_TOKEN); the page itself is a read a browser opens.
    expect((await post(base, "/v1/drift/evaluate", {})).status).toBe(200);
    const response = await page.goto(`${base}/v1/drift/report`);
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe(`Drift report: ${MODEL}`);

    const verdict = await page.locator("#verdict").innerText();
    expect(verdict).toMatch(/^(Dataset drift detected|No dataset drift): \d of 6 features drifted/);

    const columns = [...NUMERIC, "channel", "probability"];
    expect(await page.locator("#summary tbody tr").count()).toBe(columns.length);
    for (const name of columns) {
      const card = page.locator(`section.column[data-column="${name}"]`);
      await expect(card.locator("h3").innerText()).resolves.toContain(name);
      const svg = card.locator("svg.histogram");
      const box = await svg.boundingBox();
      expect(box && box.width > 100 && box.height > 50).toBe(true);
      // Bars of both sides are drawn with real heights.
      const heights = await svg.locator("rect.ref, rect.cur").evaluateAll((rects) => rects.map((r) => (r as unknown as { getBBox(): { height: number } }).getBBox().height));
      expect(heights.some((h) => h > 1)).toBe(true);
    }
    // The shifted features are marked as drifted, with the badge a person sees.
    const v1 = page.locator('section.column[data-column="v1"]');
    expect(await v1.getAttribute("data-verdict")).toBe("drift");
    expect(await v1.locator(".badge").first().innerText()).toBe("drift");
    expect(await page.locator('section.column[data-column="time"]').getAttribute("data-verdict")).toBe("ok");
    expect(await page.locator('section.column[data-column="channel"] .scores').innerText()).toMatch(/unseen categories\s+crypto/);
    expect(await page.locator("#multivariate").innerText()).toMatch(/PCA reconstruction error/);
    expect(problems).toEqual([]);
    await page.close();
  });
});
