/**
 * CPU time spent by the processes on the data path while a benchmark stage or a load test runs: this process,
 * the local PostgreSQL server (its postmaster and every backend, including backends that exit in between) and
 * the local Kafka broker. Read from /proc, so only on Linux and only for servers on this machine; anything it
 * cannot read is reported as null rather than guessed.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux architecture Node ships for

interface ProcStat {
  ppid: number;
  /** utime + stime of the process itself, in ticks. */
  own: number;
  /** cutime + cstime: children it has reaped, in ticks. */
  reaped: number;
}

function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses; the fields after its closing ')' are fixed.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(f[i - 3]);
  return { ppid: n(4), own: n(14) + n(15), reaped: n(16) + n(17) };
}

/** CPU seconds of `root` and of every process it started, alive or reaped; null once `root` is gone. */
export function treeSeconds(root: number): number | null {
  const top = procStat(root);
  if (!top) return null;
  let ticks = top.own + top.reaped;
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === root) continue;
    const s = procStat(pid);
    if (s?.ppid === root) ticks += s.own + s.reaped;
  }
  return ticks / TICKS_PER_SECOND;
}

/**
 * CPU seconds of the children this process has waited for, and theirs: a pipeline this process started and
 * saw exit is counted here whole, after its processes are gone from /proc.
 */
export function reapedSeconds(): number {
  return (procStat(process.pid)?.reaped ?? 0) / TICKS_PER_SECOND;
}

export interface CpuSources {
  /** Central's processes, or null for this one (central running in the benchmark's own process). */
  central: number[] | null;
  /** The PostgreSQL postmaster's pid (the parent of any backend), or null when not local. */
  postgres: number | null;
  /** The Kafka broker's pid, or null when not known. */
  kafka: number | null;
}

export interface CpuSeconds {
  central: number | null;
  postgres: number | null;
  kafka: number | null;
}

function centralSeconds(pids: number[] | null): number | null {
  if (pids === null) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
  const each = pids.map(treeSeconds);
  return each.includes(null) ? null : each.reduce((a: number, b) => a + b!, 0);
}

export function cpuNow(sources: CpuSources): CpuSeconds {
  return {
    central: centralSeconds(sources.central),
    postgres: sources.postgres === null ? null : treeSeconds(sources.postgres),
    kafka: sources.kafka === null ? null : treeSeconds(sources.kafka),
  };
}

export function cpuSince(start: CpuSeconds, sources: CpuSources): CpuSeconds {
  const end = cpuNow(sources);
  const d = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);
  return { central: d(start.central, end.central), postgres: d(start.postgres, end.postgres), kafka: d(start.kafka, end.kafka) };
}

/** The most memory `pid` has held resident since it started (VmHWM), in bytes; null if it cannot be read. */
export function peakResidentBytes(pid: number): number | null {
  try {
    const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? null : Number(kib) * 1024;
  } catch {
    return null;
  }
}

/** The postmaster of a backend: its parent, when the backend runs on this machine. */
export function postmasterOf(backend_pid: number): number | null {
  const s = procStat(backend_pid);
  const isPostgres = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
    } catch {
      return false;
    }
  };
  // A remote server's backend pid names some unrelated local process, or none.
  return s && isPostgres(backend_pid) && isPostgres(s.ppid) ? s.ppid : null;
}

/** The broker `npm run services -- up` started, from its pid file, if it is still running. */
export function localKafkaPid(pidfile: string): number | null {
  try {
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    return procStat(pid) ? pid : null;
  } catch {
    return null;
  }
}
