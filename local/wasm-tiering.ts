/**
 * PGlite is PostgreSQL compiled to a large WebAssembly module. V8 first compiles it with its
 * baseline compiler (Liftoff), then recompiles hot functions with its optimizing one (TurboFan) on
 * background threads: for this module that second compilation costs several seconds of CPU and
 * hundreds of MiB per process, and a CLI command ends before it pays off (measured: a 30-date run
 * 8.0 s → 4.4 s, peak memory 1 GiB → 0.4 GiB; `plan` on a 30-day directory 4.0 s → 1.3 s). The
 * flags are read when a module is compiled, so this must run before PGlite starts; it applies to
 * the whole process (and to no other). Sustained heavy stage work gains from the optimizing
 * compiler (a 20-date run at 20,000 rows a day: 24.6 s here, 19.0 s with it): set
 * HINDSIGHT_WASM_TIER_UP=1 for such a backfill.
 */
import { setFlagsFromString } from 'node:v8';

let applied = false;

/** Keeps WebAssembly on the baseline compiler in this process (no tier-up to the optimizing one). */
export function keepWasmOnBaselineCompiler(): void {
  if (applied || process.env.HINDSIGHT_WASM_TIER_UP === '1') return;
  setFlagsFromString('--no-wasm-tier-up');
  setFlagsFromString('--no-wasm-dynamic-tiering');
  applied = true;
}
