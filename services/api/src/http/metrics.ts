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
  // The label children, looked up once per operation and status: labels() hashes its values on every
  // call, and every prediction passes here.
  const counted = new Map<string, ReturnType<typeof requests.labels>>();
  const timed = new Map<string, ReturnType<typeof duration.labels>>();
  return {
    observe(operation, status, seconds) {
      const key = `${operation} ${status}`;
      let count = counted.get(key);
      if (!count) counted.set(key, (count = requests.labels(operation, String(status))));
      let time = timed.get(operation);
      if (!time) timed.set(operation, (time = duration.labels(operation)));
      count.inc();
      time.observe(seconds);
    },
  };
}
