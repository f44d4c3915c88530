import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { findPostgresBin, type RunningPostgres, startPostgres } from './postgres-server';

declare global {
  // Shared between globalSetup and globalTeardown, which run in the same process.
  var hindsightPostgres: RunningPostgres | undefined;
}

/**
 * Makes a real PostgreSQL server available to the database suites as TEST_DATABASE_URL:
 * the one given, or a throwaway server started here. In CI a missing server is an error;
 * on a laptop without PostgreSQL the real-server half of those suites is skipped, saying so.
 */
export default async function globalSetup(): Promise<void> {
  buildCompiledCli();
  if (process.env.TEST_DATABASE_URL) return;
  const bin = findPostgresBin();
  if (!bin) {
    if (process.env.CI)
      throw new Error("CI needs PostgreSQL: install Debian's postgresql package (.ci/run does).");
    console.warn(
      '\nNo PostgreSQL binaries under /usr/lib/postgresql: real-server tests are skipped (PGlite only).',
    );
    return;
  }
  globalThis.hindsightPostgres = await startPostgres(bin);
  process.env.TEST_DATABASE_URL = globalThis.hindsightPostgres.url;
}

/**
 * The tests that run `hindsight` as a process run the compiled CLI (bin/hindsight.js → dist/), as
 * a user does: built here once, before any worker starts, when a source is newer than dist/.
 */
function buildCompiledCli(): void {
  const repository = join(__dirname, '..', '..');
  execFileSync(process.execPath, [join(repository, 'tools', 'build.mjs'), '--if-stale'], {
    stdio: 'inherit',
  });
}
