/** Board readings for the heartbeat: process CPU and memory, SoC temperature, free disk. */
import { statfs, readFile } from 'node:fs/promises';

export interface SystemProbe {
  cpu_pct(): number | null;
  mem_rss_bytes(): number;
  temperature_c(): Promise<number | null>;
  disk_free_bytes(): Promise<number | null>;
}

/** Linux: /sys/class/thermal/thermal_zone0/temp is millidegrees Celsius on Raspberry Pi OS and most boards. */
export function linuxProbe(disk_path: string): SystemProbe {
  let last = { usage: process.cpuUsage(), at: process.hrtime.bigint() };
  return {
    cpu_pct() {
      const now = { usage: process.cpuUsage(), at: process.hrtime.bigint() };
      const used_us = now.usage.user - last.usage.user + (now.usage.system - last.usage.system);
      const elapsed_us = Number(now.at - last.at) / 1_000;
      last = now;
      return elapsed_us > 0 ? Math.min(100 * 256, (100 * used_us) / elapsed_us) : null;
    },
    mem_rss_bytes: () => process.memoryUsage.rss(),
    async temperature_c() {
      try {
        const milli = Number((await readFile('/sys/class/thermal/thermal_zone0/temp', 'utf8')).trim());
        return Number.isFinite(milli) && milli > -60_000 && milli < 150_000 ? milli / 1000 : null;
      } catch {
        return null;
      }
    },
    async disk_free_bytes() {
      try {
        const s = await statfs(disk_path);
        return s.bavail * s.bsize;
      } catch {
        return null;
      }
    },
  };
}
