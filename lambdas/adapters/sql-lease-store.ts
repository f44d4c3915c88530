import { HindsightError } from '../engine/errors';
import type { LeaseRecord, LeaseStore } from '../engine/lease';
import type { SqlClient, SqlExecutor } from '../engine/sql';
import type { LeaseKind } from '../workflow/contracts';

/** The table of the lease kept in PostgreSQL: one row, `id = 1`. */
export const SQL_LEASE_TABLE = 'hindsight_local_lease';

/** Advisory lock id serializing the table's creation (another process may create it at the same time). */
const CREATE_LOCK_KEY = 7_143_521;

export interface SqlLeaseStoreOptions {
  /**
   * Who writes: recorded with every held lease this store writes, so that another process finding
   * the lease can ask whether the process that took it still runs (see `ownerOf`).
   */
  readonly owner?: string;
}

type LeaseRow = {
  token: number;
  holder: string | null;
  kind: string | null;
  expires_at: number | null;
  acquired_at: number | null;
  owner: string | null;
};

/**
 * The lease as one row in the PostgreSQL database that also holds the fence: what the local
 * runtime uses with `--database-url`, so that every data directory on that database shares one
 * lease, as every execution of a stack shares its DynamoDB item. Changed only by single
 * conditional statements on the version the caller read (an INSERT that does nothing when a row
 * exists; an UPDATE whose WHERE is the version read), which PostgreSQL applies atomically.
 *
 * Row: `token`; while held also `holder`, `kind`, `expires_at` and `acquired_at` (epoch ms), and
 * `owner`, the writer's `owner` option.
 */
export class SqlLeaseStore implements LeaseStore {
  private constructor(
    private readonly sql: SqlClient,
    private readonly owner: string | null,
  ) {}

  /** The store on `sql`, creating its table if there is none yet. */
  static async open(sql: SqlClient, options: SqlLeaseStoreOptions = {}): Promise<SqlLeaseStore> {
    await sql.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [CREATE_LOCK_KEY]);
      await tx.query(
        `CREATE TABLE IF NOT EXISTS ${SQL_LEASE_TABLE} (
           id          INTEGER PRIMARY KEY CHECK (id = 1),
           token       BIGINT  NOT NULL,
           holder      TEXT,
           kind        TEXT,
           expires_at  BIGINT,
           acquired_at BIGINT,
           owner       TEXT,
           CHECK (holder IS NULL OR (kind IS NOT NULL AND expires_at IS NOT NULL AND acquired_at IS NOT NULL)))`,
      );
    });
    return new SqlLeaseStore(sql, options.owner ?? null);
  }

  async read(): Promise<LeaseRecord | undefined> {
    const row = await this.readRow(this.sql);
    return row && parse(row);
  }

  async tryWrite(next: LeaseRecord, seen: LeaseRecord | undefined): Promise<boolean> {
    const values = [
      next.token,
      next.holder,
      next.holder === null ? null : next.kind,
      next.holder === null ? null : next.expiresAt,
      next.holder === null ? null : next.acquiredAt,
      next.holder === null ? null : this.owner,
    ];
    if (seen === undefined) {
      const { rowCount } = await this.sql.query(
        `INSERT INTO ${SQL_LEASE_TABLE} (id, token, holder, kind, expires_at, acquired_at, owner)
         VALUES (1, $1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
        values,
      );
      return rowCount === 1;
    }
    const set = `UPDATE ${SQL_LEASE_TABLE}
       SET token = $1, holder = $2, kind = $3, expires_at = $4, acquired_at = $5, owner = $6
       WHERE id = 1 AND token = $7`;
    const { rowCount } =
      seen.holder === null
        ? await this.sql.query(`${set} AND holder IS NULL`, [...values, seen.token])
        : await this.sql.query(`${set} AND holder = $8 AND expires_at = $9`, [
            ...values,
            seen.token,
            seen.holder,
            seen.expiresAt,
          ]);
    return rowCount === 1;
  }

  /**
   * The `owner` recorded with the lease while `holder` holds it: `null` when its writer gave none,
   * `undefined` when `holder` does not hold the lease (any more).
   */
  async ownerOf(holder: string): Promise<string | null | undefined> {
    const row = await this.readRow(this.sql);
    return row?.holder === holder ? row.owner : undefined;
  }

  private async readRow(sql: SqlExecutor): Promise<LeaseRow | undefined> {
    const { rows } = await sql.query<LeaseRow>(
      `SELECT token, holder, kind, expires_at, acquired_at, owner FROM ${SQL_LEASE_TABLE} WHERE id = 1`,
    );
    return rows[0];
  }
}

function parse(row: LeaseRow): LeaseRecord {
  const { token, holder, kind, expires_at: expiresAt, acquired_at: acquiredAt } = row;
  if (holder === null) return { holder: null, token };
  if (!isLeaseKind(kind) || expiresAt === null || acquiredAt === null) {
    throw new HindsightError(
      `The lease row in ${SQL_LEASE_TABLE} is malformed: got ${JSON.stringify(row)}; expected, while held, ` +
        `kind (daily|backfill), expires_at and acquired_at. Delete the row to reset the lease.`,
    );
  }
  return { holder, kind, token, expiresAt, acquiredAt };
}

function isLeaseKind(value: string | null): value is LeaseKind {
  return value === 'daily' || value === 'backfill';
}
