/**
 * The local platform's child processes: each in its own process group (so a Ctrl-C reaches only the
 * launcher, which stops them in order), its output in a log file, started when its readiness URL answers,
 * stopped with SIGTERM (what Kubernetes sends) and killed when it does not stop in time.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import path from "node:path";

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Started once this URL answers 2xx. */
  readyUrl: string;
  readyTimeoutMs?: number;
  /** SIGKILL after this long without exiting on SIGTERM. */
  stopTimeoutMs?: number;
}

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  cmdline: string;
}

interface Running extends ManagedProcess {
  child: ChildProcess;
  exited: Promise<void>;
  stopping: boolean;
  stopTimeoutMs: number;
}

/** The last lines of a log file, for error messages. */
export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no output)";
  }
}

export class Supervisor {
  private readonly running: Running[] = [];

  /** `onCrash` hears of a process that exits while it should be running. */
  constructor(
    private readonly logDir: string,
    private readonly onCrash: (name: string, code: number | null, signal: NodeJS.Signals | null, logFile: string) => void,
  ) {
    mkdirSync(logDir, { recursive: true });
  }

  async start(spec: ProcessSpec): Promise<ManagedProcess> {
    const logFile = path.join(this.logDir, `${spec.name}.log`);
    const fd = openSync(logFile, "a");
    const child = spawn(spec.command, spec.args, { env: spec.env ?? process.env, stdio: ["ignore", fd, fd], detached: true });
    closeSync(fd);
    const cmdline = [spec.command, ...spec.args].join(" ");
    const entry: Running = {
      name: spec.name,
      pid: child.pid ?? -1,
      logFile,
      cmdline,
      child,
      stopping: false,
      stopTimeoutMs: spec.stopTimeoutMs ?? 30_000,
      exited: new Promise((resolve) => child.once("exit", () => resolve())),
    };
    const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
    child.once("exit", (code, signal) => {
      if (!entry.stopping) this.onCrash(spec.name, code, signal, logFile);
    });
    this.running.push(entry);
    const ready = await Promise.race([waitForUrl(spec.readyUrl, spec.readyTimeoutMs ?? 60_000, () => child.exitCode !== null || child.signalCode !== null), spawnError]);
    if (ready instanceof Error) throw new Error(`${spec.name} could not be started (${spec.command}): ${ready.message}`);
    if (ready !== "ready") {
      entry.stopping = true;
      await this.stopOne(entry);
      const why = ready === "exited" ? `exited (code ${child.exitCode ?? child.signalCode})` : `did not answer ${spec.readyUrl} within ${(spec.readyTimeoutMs ?? 60_000) / 1000} s`;
      throw new Error(`${spec.name} ${why}; the end of ${logFile}:\n${logTail(logFile)}`);
    }
    return { name: spec.name, pid: entry.pid, logFile, cmdline };
  }

  /** Stops everything, the last started first (serving before the sinks it sends to). */
  async stopAll(): Promise<void> {
    for (const entry of [...this.running].reverse()) {
      entry.stopping = true;
      await this.stopOne(entry);
    }
  }

  private async stopOne(entry: Running): Promise<void> {
    if (entry.child.exitCode === null && entry.child.signalCode === null) {
      entry.child.kill("SIGTERM");
      const timer = setTimeout(() => killGroup(entry.pid), entry.stopTimeoutMs);
      await entry.exited;
      clearTimeout(timer);
    }
    const i = this.running.indexOf(entry);
    if (i >= 0) this.running.splice(i, 1);
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** Polls until the URL answers 2xx ("ready"), the process exits ("exited") or time runs out ("timeout"). */
export async function waitForUrl(url: string, timeoutMs: number, hasExited: () => boolean = () => false): Promise<"ready" | "exited" | "timeout"> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited()) return "exited";
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return "ready";
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return hasExited() ? "exited" : "timeout";
}
