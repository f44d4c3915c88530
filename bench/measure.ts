/** Timing helpers: a monotonic clock in milliseconds, medians and minima. */
import { performance } from 'node:perf_hooks';

/** Runs `work` and returns its result and its wall time in ms. */
export async function timed<T>(work: () => Promise<T> | T): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await work();
  return { result, ms: performance.now() - start };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function best(values: readonly number[]): number {
  return Math.min(...values);
}

/** Progress on stderr, so stdout holds only the tables. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
