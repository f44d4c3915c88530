/** A small seeded PRNG (mulberry32): the same seed gives the same choices, so a failure can be replayed. */
export interface SeededRandom {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** A whole number in [min, max], both included. */
  int(min: number, max: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
}

export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    seed,
    next,
    int,
    pick: (items) => {
      if (items.length === 0) throw new Error('Cannot pick from an empty array.');
      return items[int(0, items.length - 1)];
    },
  };
}

/** The seed from `variable` in the environment when it is a whole number, else `fallback`. */
export function seedFromEnvironment(variable: string, fallback: number): number {
  const value = Number(process.env[variable]);
  return Number.isSafeInteger(value) ? value : fallback;
}
