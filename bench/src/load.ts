import { performance } from 'node:perf_hooks';

/** One phase of a closed-loop load: `concurrency` callers, each sending its next request as soon
 * as its previous one is answered. */
export interface LoadOptions {
  concurrency: number;
  /** Requests sent in all; the phase ends when they are answered. */
  requests: number;
  /** The phase also ends after this long, however many requests were answered. */
  maxMs: number;
  /** Absolute `performance.now()` after which nothing new is sent (the benchmark's budget). */
  deadline: number;
}

export interface LoadResult {
  concurrency: number;
  completed: number;
  failed: number;
  firstError: string | undefined;
  elapsedMs: number;
  /** True when the phase stopped on time (or on a failure) before all requests were sent. */
  cut: boolean;
  /** Latencies in milliseconds, ascending. */
  latencies: Float64Array;
  /** Node.js CPU (user + system) this process spent in the phase, in microseconds. */
  cpuMicros: number;
}

/**
 * Runs `call` under a closed loop and times every call. Bounded in count and in time: the
 * first failure also stops the phase, since a benchmark of a failing path measures nothing.
 */
export async function runLoad(
  call: (seq: number) => Promise<void>,
  options: LoadOptions,
): Promise<LoadResult> {
  const latencies = new Float64Array(options.requests);
  const startedAt = performance.now();
  const stopAt = Math.min(startedAt + options.maxMs, options.deadline);
  const cpuBefore = process.cpuUsage();
  let next = 0;
  let completed = 0;
  let failed = 0;
  let firstError: string | undefined;

  const worker = async (): Promise<void> => {
    while (next < options.requests && failed === 0 && performance.now() < stopAt) {
      const seq = next++;
      const t0 = performance.now();
      try {
        await call(seq);
        latencies[completed++] = performance.now() - t0;
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, () => worker()));

  const elapsedMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  const done = latencies.slice(0, completed).sort();
  return {
    concurrency: options.concurrency,
    completed,
    failed,
    firstError,
    elapsedMs,
    cut: completed + failed < options.requests,
    latencies: done,
    cpuMicros: cpu.user + cpu.system,
  };
}

/** Adds up rounds of the same phase into one result: counts, times and CPU summed, latencies
 * pooled. */
export function mergeResults(results: LoadResult[]): LoadResult {
  const completed = results.reduce((n, r) => n + r.completed, 0);
  const latencies = new Float64Array(completed);
  let at = 0;
  for (const r of results) {
    latencies.set(r.latencies, at);
    at += r.latencies.length;
  }
  return {
    concurrency: results[0]?.concurrency ?? 0,
    completed,
    failed: results.reduce((n, r) => n + r.failed, 0),
    firstError: results.find((r) => r.firstError !== undefined)?.firstError,
    elapsedMs: results.reduce((n, r) => n + r.elapsedMs, 0),
    cut: results.some((r) => r.cut),
    latencies: latencies.sort(),
    cpuMicros: results.reduce((n, r) => n + r.cpuMicros, 0),
  };
}

/** Nearest-rank percentile of ascending values; NaN when there are none. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function requestsPerSecond(result: LoadResult): number {
  return result.elapsedMs > 0 ? (result.completed * 1000) / result.elapsedMs : 0;
}

/** A plain-text table with right-aligned columns after the first. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
