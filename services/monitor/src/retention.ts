/**
 * Keeps the tables bounded by RETENTION_DAYS: drops the daily partitions of predictions and labelled
 * that ended before the cutoff, deletes feedback received before it (in chunks, so no long lock), and
 * creates today's and tomorrow's partitions ahead of the traffic. Alert actions are an audit trail
 * (a few rows per alert) and are kept.
 */
import type { Logger } from "@mlops/common";
import type { Pool } from "pg";
import { dayOf, type Partitions } from "./db/partitions";
import type { MonitorMetrics } from "./metrics";

const DAY_MS = 86_400_000;
const CHUNK = 10_000;

export interface RetentionResult {
  cutoff: string;
  droppedDays: string[];
  deletedFeedback: number;
}

export class Retention {
  constructor(
    private readonly pool: Pool,
    private readonly partitions: Partitions,
    private readonly retentionDays: number,
    private readonly metrics: MonitorMetrics,
    private readonly logger: Logger,
  ) {}

  /** One pass; `now` is a parameter so tests can move time. */
  async run(now = Date.now()): Promise<RetentionResult> {
    const cutoff = now - this.retentionDays * DAY_MS;
    const droppedDays = await this.partitions.dropEndingBefore(cutoff);
    let deletedFeedback = 0;
    for (;;) {
      const { rowCount } = await this.pool.query(
        "DELETE FROM feedback WHERE prediction_id IN (SELECT prediction_id FROM feedback WHERE received_at < $1 LIMIT $2)",
        [new Date(cutoff).toISOString(), CHUNK],
      );
      deletedFeedback += rowCount ?? 0;
      if ((rowCount ?? 0) < CHUNK) break;
    }
    await this.partitions.ensure([dayOf(now), dayOf(now + DAY_MS)]);
    this.metrics.retentionDroppedDays.inc(droppedDays.length);
    this.metrics.retentionDeletedFeedback.inc(deletedFeedback);
    const result = { cutoff: new Date(cutoff).toISOString(), droppedDays, deletedFeedback };
    if (droppedDays.length || deletedFeedback) this.logger.info(result, "retention removed old data");
    return result;
  }
}
