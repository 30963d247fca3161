/**
 * The query of GET /v1/models/<name>/predictions: a range of prediction time [start, end) and a page of
 * it. The range is bounded (MAX_RANGE_DAYS) so that a page and its total read a bounded number of daily
 * partitions; the answer echoes the resolved range, so a caller pages through a fixed one by passing it back.
 */
import { HttpError } from "@mlops/common";
import { z } from "zod";
import { intParam } from "../http/params";

export const MAX_RANGE_DAYS = 31;
export const DEFAULT_RANGE_MS = 86_400_000;
export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;

export interface PageRequest {
  start: Date;
  end: Date;
  limit: number;
  offset: number;
}

export interface PageQuery {
  start?: string;
  end?: string;
  limit?: string;
  offset?: string;
}

const isoTime = z.iso.datetime({ offset: true });

function timeParam(name: "start" | "end", text: string | undefined): Date | undefined {
  if (text === undefined || text === "") return undefined;
  if (!isoTime.safeParse(text).success) {
    throw new HttpError(400, "INVALID_RANGE", `${name} must be an ISO-8601 time with its zone, e.g. 2025-07-15T15:30:00Z; got "${text}"`);
  }
  return new Date(text);
}

/** Defaults: end = now, start = end - 24 h. Refused (400 INVALID_RANGE): start >= end, a range over MAX_RANGE_DAYS. */
export function pageRequestOf(query: PageQuery, now = Date.now()): PageRequest {
  const end = timeParam("end", query.end) ?? new Date(now);
  const start = timeParam("start", query.start) ?? new Date(end.getTime() - DEFAULT_RANGE_MS);
  if (start.getTime() >= end.getTime()) {
    throw new HttpError(400, "INVALID_RANGE", `start (${start.toISOString()}) must be before end (${end.toISOString()})${query.end ? "" : ", which defaults to now"}`);
  }
  const days = (end.getTime() - start.getTime()) / 86_400_000;
  if (days > MAX_RANGE_DAYS) {
    throw new HttpError(400, "INVALID_RANGE", `the range from ${start.toISOString()} to ${end.toISOString()} spans ${days.toFixed(1)} days; at most ${MAX_RANGE_DAYS} are served per request`);
  }
  return {
    start,
    end,
    limit: intParam("limit", query.limit, { min: 1, max: MAX_PAGE, default: DEFAULT_PAGE }),
    offset: intParam("offset", query.offset, { min: 0, default: 0 }),
  };
}
