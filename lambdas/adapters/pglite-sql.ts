import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { DataDirectoryInUseError } from '../engine/errors';
import {
  type SqlClient,
  type SqlExecutor,
  type SqlResult,
  type SqlRow,
  type SqlValue,
  sqlValueText,
} from '../engine/sql';
import { PG_PARSERS } from './postgres-types';

/**
 * Embedded PostgreSQL (PGlite) persisted in a directory: the laptop default.
 *
 * PGlite has one connection, and a second instance on the same directory opens without error and
 * can corrupt it, so the directory is locked with a pid file for as long as the client is open.
 */
export class PgliteSqlClient implements SqlClient {
  readonly kind = 'pglite';

  private constructor(
    private readonly db: PGlite,
    private readonly lockFile: string | undefined,
  ) {}

  /** Opens (creating if needed) the database in `directory`; in memory when `directory` is undefined. */
  static async open(directory: string | undefined): Promise<PgliteSqlClient> {
    let lockFile: string | undefined;
    if (directory !== undefined) {
      mkdirSync(directory, { recursive: true });
      lockFile = join(dirname(directory), `${directory.split(/[\\/]/).pop()}.lock`);
      acquireDirectoryLock(lockFile, directory);
    }
    try {
      const db = await PGlite.create(directory, { parsers: PG_PARSERS });
      await db.exec("SET TIME ZONE 'UTC'");
      return new PgliteSqlClient(db, lockFile);
    } catch (error) {
      if (lockFile) rmSync(lockFile, { force: true });
      throw error;
    }
  }

  async query<Row extends SqlRow = SqlRow>(
    text: string,
    params: readonly SqlValue[] = [],
  ): Promise<SqlResult<Row>> {
    return run<Row>(this.db, text, params);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => work({ query: (text, params = []) => run(tx, text, params) }));
  }

  async close(): Promise<void> {
    try {
      await this.db.close();
    } finally {
      if (this.lockFile) rmSync(this.lockFile, { force: true });
    }
  }
}

async function run<Row extends SqlRow>(
  db: PGlite | Transaction,
  text: string,
  params: readonly SqlValue[],
): Promise<SqlResult<Row>> {
  const result = await db.query<Row>(text, params.map(sqlValueText));
  return { rows: result.rows, rowCount: result.affectedRows || result.rows.length };
}

/**
 * Takes `lockFile` with an exclusive create. A lock left by a process that no longer exists is
 * taken over; one held by a live process is refused with a message saying which.
 */
function acquireDirectoryLock(lockFile: string, directory: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (error) {
      if (!isErrnoCode(error, 'EEXIST')) throw error;
      const holder = Number(readFileSync(lockFile, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DataDirectoryInUseError(
          `The data directory ${directory} is in use by process ${holder}. ` +
            'Wait for it to finish, or use another --data-dir.',
        );
      }
      if (holder === process.pid) {
        throw new DataDirectoryInUseError(`The data directory ${directory} is already open in this process.`);
      }
      rmSync(lockFile, { force: true });
    }
  }
  throw new DataDirectoryInUseError(`Could not lock the data directory ${directory}.`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrnoCode(error, 'EPERM');
  }
}

function isErrnoCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}
