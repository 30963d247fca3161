/** Webhook delivery in the background: retries, failure callbacks, and a drain that skips the backoff waits. */
import { createLogger } from "@mlops/common";
import { WebhookNotifier, type VerdictChange } from "../../../services/drift/src/service/webhooks";
import { webhookReceiver } from "./helpers/world";

const change: VerdictChange = {
  type: "drift_detected",
  model: "m",
  occurredAt: new Date().toISOString(),
  datasetDrift: true,
  previousDatasetDrift: false,
  driftShare: 0.6,
  driftShareThreshold: 0.5,
  severity: "high",
  driftedFeatures: [],
  multivariateDrift: null,
  window: { rows: 1000 },
  reference: { rows: 10, createdAt: "2025-01-01T00:00:00.000Z" },
};

describe("WebhookNotifier", () => {
  it("returns at once, retries failures in the background, and drains without waiting out the backoff", async () => {
    const down = await webhookReceiver(503);
    const results: boolean[] = [];
    const notifier = new WebhookNotifier({ urls: [down.url], secret: "webhook-signing-key-0123", retries: 3, backoffMs: 60_000, timeoutMs: 5000 }, createLogger("t", "silent"), (ok) => results.push(ok));
    // The process's first fetch() loads undici synchronously (70-120 ms on a busy 2-core box): not what is measured.
    await fetch(`${down.url}/warm-up`).catch(() => undefined);
    down.received.length = 0;
    const started = Date.now();
    notifier.notify(change);
    expect(Date.now() - started).toBeLessThan(50); // notify() does not wait for the delivery
    await new Promise((r) => setTimeout(r, 200));
    expect(down.received).toHaveLength(1); // the first attempt; the retry waits a minute
    await notifier.drain(); // shutdown: the remaining attempts go out now
    expect(down.received).toHaveLength(4);
    expect(results).toEqual([false]);
    await down.close();
  });

  it("does nothing without URLs", async () => {
    const notifier = new WebhookNotifier({ urls: [], retries: 3, backoffMs: 10, timeoutMs: 100 }, createLogger("t", "silent"), () => undefined);
    expect(notifier.enabled).toBe(false);
    await notifier.drain();
  });
});
