/**
 * CPU time of other processes (a server under a benchmark), read from /proc (Linux): what a
 * benchmark divides by the calls it sent to say what one call cost that process.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's times (USER_HZ; 100 on Linux for every architecture node runs on). */
const USER_HZ = 100;

/**
 * CPU seconds (user + system, own + reaped children) of the processes; an exited process counts 0.
 * Throws where /proc is missing (not Linux), so a benchmark does not print a made-up number.
 */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT" && readableProc()) continue;
      throw new Error(`cannot read the CPU time of process ${pid} from /proc: ${(err as Error).message}`);
    }
    // Fields after the command name (which may hold spaces): state is [0]; utime, stime, cutime, cstime are [11..14].
    const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return ticks / USER_HZ;
}

function readableProc(): boolean {
  try {
    readFileSync("/proc/self/stat");
    return true;
  } catch {
    return false;
  }
}

/** The processes whose parent is `pid` (a server's workers, PostgreSQL's backends), as they are now. */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(") ") + 2).split(" ")[1]) === pid) children.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return children;
}
