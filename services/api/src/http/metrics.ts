/** The API's own metrics (README's metric list): calls per operation and status, and their duration. */
import { Counter, Histogram, type Registry } from "prom-client";

export interface ApiMetrics {
  observe(operation: string, status: number, seconds: number): void;
}

export function createApiMetrics(registry: Registry): ApiMetrics {
  const requests = new Counter({
    name: "mlops_api_requests_total",
    help: "Platform API calls by operation (the OpenAPI operationId) and HTTP status",
    labelNames: ["operation", "status"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "mlops_api_request_duration_seconds",
    help: "Platform API call duration by operation, from authentication to the answer",
    labelNames: ["operation"] as const,
    // Predictions pass through in a few milliseconds; deploy gates take seconds.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return {
    observe(operation, status, seconds) {
      requests.inc({ operation, status: String(status) });
      duration.observe({ operation }, seconds);
    },
  };
}
