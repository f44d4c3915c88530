/**
 * A sample of dates drawn with a seed: the same seed over the same range draws the same dates, so a
 * sampled verify that found something can be run again on exactly those dates.
 */
import type { IsoDate } from '../dates';

/** A float in [0, 1) from a PRNG (mulberry32) seeded with a hash (FNV-1a) of `seed`. */
export function seededRandom(seed: string): () => number {
  let state = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) state = Math.imul(state ^ seed.charCodeAt(i), 0x01000193) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `size` distinct dates of `dates` drawn with `seed` (all of them when there are no more), ascending. */
export function sampleDates(dates: readonly IsoDate[], size: number, seed: string): IsoDate[] {
  const pool = [...dates];
  const random = seededRandom(seed);
  const count = Math.min(size, pool.length);
  // A partial Fisher–Yates shuffle: the first `count` places hold the draw.
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, count).sort();
}
