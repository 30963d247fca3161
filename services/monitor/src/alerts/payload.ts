/** Alertmanager's webhook body (version 4), as POSTed to a webhook_config receiver. */
import { z } from "zod";

const timestamp = z.string().refine((v) => Number.isFinite(Date.parse(v)), "expected an RFC 3339 timestamp");
const stringMap = z.record(z.string(), z.string());

export const alertSchema = z.object({
  status: z.enum(["firing", "resolved"]),
  labels: stringMap.refine((l) => typeof l.alertname === "string" && l.alertname.length > 0, "the labels have no alertname"),
  annotations: stringMap.default({}),
  startsAt: timestamp,
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1),
});

export const alertmanagerPayloadSchema = z.object({
  version: z.literal("4", { message: 'expected Alertmanager\'s webhook version "4"' }),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().optional(),
  status: z.enum(["firing", "resolved"]),
  receiver: z.string(),
  groupLabels: stringMap.default({}),
  commonLabels: stringMap.default({}),
  commonAnnotations: stringMap.default({}),
  externalURL: z.string().optional(),
  alerts: z.array(alertSchema),
});

export type AlertmanagerPayload = z.infer<typeof alertmanagerPayloadSchema>;
export type Alert = z.infer<typeof alertSchema>;
