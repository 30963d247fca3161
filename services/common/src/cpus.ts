import { readFileSync } from "node:fs";
import os from "node:os";

export type ReadText = (file: string) => string;

const readText: ReadText = (file) => readFileSync(file, "utf8");

/**
 * CPUs this container may use: its cgroup CPU quota (v2 `cpu.max`, v1 `cpu.cfs_quota_us / cpu.cfs_period_us`),
 * rounded down, at least 1, at most what the process may be scheduled on. The host's core count would
 * oversubscribe a pod limited to one or two CPUs, and every extra ONNX Runtime thread then only waits.
 */
export function containerCpus(read: ReadText = readText, available: number = availableParallelism()): number {
  const quota = cgroupCpuQuota(read);
  return quota === undefined ? available : Math.max(1, Math.min(available, Math.floor(quota)));
}

/** The quota in CPUs, or undefined when there is none (or no cgroup file to say so). */
export function cgroupCpuQuota(read: ReadText = readText): number | undefined {
  const v2 = attempt(() => read("/sys/fs/cgroup/cpu.max"));
  if (v2 !== undefined) {
    const [max, period] = v2.trim().split(/\s+/);
    const quota = Number(max) / Number(period);
    return max !== "max" && Number.isFinite(quota) && quota > 0 ? quota : undefined;
  }
  for (const dir of ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"]) {
    const quota = attempt(() => Number(read(`${dir}/cpu.cfs_quota_us`).trim()));
    const period = attempt(() => Number(read(`${dir}/cpu.cfs_period_us`).trim()));
    if (quota === undefined || period === undefined) continue;
    return quota > 0 && period > 0 ? quota / period : undefined;
  }
  return undefined;
}

function availableParallelism(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

function attempt<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
