/**
 * A new data directory's database, copied from a template instead of created: PGlite's `initdb`
 * takes tens of seconds (most of a first command), copying a closed, empty cluster a fraction of
 * one. The template is made once per PGlite version, by the first command that needs it, in the
 * shared cache directory (see cachedWorkflowDefinitions), and holds no data and no migrations:
 * only what `initdb` writes.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PgliteSqlClient } from '../lambdas/adapters/pglite-sql';

/**
 * Fills `directory` (which must not exist) with an empty cluster: a copy of the cached template,
 * made first (with `initdb`) when there is none. Returns whether the template had to be made.
 */
export async function createDatabaseFromTemplate(
  directory: string,
  cacheDirectory: string,
): Promise<boolean> {
  const template = templateDirectory(cacheDirectory);
  let made = false;
  if (!hasDatabaseTemplate(cacheDirectory)) {
    const draft = `${template}.${process.pid}.tmp`;
    rmSync(draft, { recursive: true, force: true });
    mkdirSync(cacheDirectory, { recursive: true });
    const sql = await PgliteSqlClient.open(draft);
    await sql.close();
    rmSync(`${draft}.lock`, { force: true });
    try {
      renameSync(draft, template);
    } catch {
      rmSync(draft, { recursive: true, force: true }); // another process made it first
    }
    made = true;
  }
  cpSync(template, directory, { recursive: true, errorOnExist: true, force: false });
  return made;
}

/** Whether the template is made (a new database is then a copy). */
export function hasDatabaseTemplate(cacheDirectory: string): boolean {
  return existsSync(join(templateDirectory(cacheDirectory), 'PG_VERSION'));
}

function templateDirectory(cacheDirectory: string): string {
  return join(cacheDirectory, `pglite-${pgliteVersion()}`);
}

function pgliteVersion(): string {
  // The package exports no package.json: its entry is dist/index.cjs, the manifest two levels up.
  const manifest = join(dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}
