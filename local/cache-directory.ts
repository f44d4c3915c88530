/**
 * Hindsight's cache on this machine: `node_modules/.cache/hindsight` (where tools keep caches) of
 * the nearest node_modules above the project, else above Hindsight itself (installed in one).
 * Shared by every data directory: a new one neither synthesizes the workflows again nor runs
 * PGlite's initdb. What is in it is keyed by what made it, so it is never stale, only unused.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Hindsight's own folder (the sources, or dist/ compiled). */
const FRAMEWORK = join(__dirname, '..');

/** The cache directory, or undefined when there is no node_modules above the project or Hindsight. */
export function hindsightCacheDirectory(projectRoot: string): string | undefined {
  const modules = nearestNodeModules(projectRoot) ?? nearestNodeModules(FRAMEWORK);
  return modules === undefined ? undefined : join(modules, '.cache', 'hindsight');
}

function nearestNodeModules(from: string): string | undefined {
  for (let directory = from; ; directory = dirname(directory)) {
    if (basename(directory) === 'node_modules') return directory;
    const candidate = join(directory, 'node_modules');
    if (existsSync(candidate)) return candidate;
    if (dirname(directory) === directory) return undefined;
  }
}
