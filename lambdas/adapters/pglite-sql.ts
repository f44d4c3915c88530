import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import {
  type SqlClient,
  type SqlExecutor,
  type SqlResult,
  type SqlRow,
  type SqlValue,
  sqlValueText,
} from '../engine/sql';
import { type DirectoryLock, lockDirectory } from './directory-lock';
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
    private readonly lock: DirectoryLock | undefined,
  ) {}

  /** Opens (creating if needed) the database in `directory`; in memory when `directory` is undefined. */
  static async open(directory: string | undefined): Promise<PgliteSqlClient> {
    let lock: DirectoryLock | undefined;
    if (directory !== undefined) {
      mkdirSync(directory, { recursive: true });
      lock = lockDirectory(`${directory}.lock`, directory);
    }
    try {
      const db = await PGlite.create(directory, { parsers: PG_PARSERS });
      await db.exec("SET TIME ZONE 'UTC'");
      return new PgliteSqlClient(db, lock);
    } catch (error) {
      lock?.release();
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
      this.lock?.release();
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
