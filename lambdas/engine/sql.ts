/**
 * The SQL port. Stage code, the ledger and the migrator speak only to these interfaces;
 * adapters (PGlite, node-postgres, RDS Data API) implement them.
 *
 * Contract every adapter keeps, so stage code sees one shape whatever the database:
 * - placeholders are positional, `$1`, `$2`, … (the Data API adapter rewrites them to named ones);
 * - DATE columns come back as `YYYY-MM-DD` strings, TIMESTAMP/TIMESTAMPTZ as ISO-8601 strings in UTC,
 *   NUMERIC as exact decimal strings, INT8 (BIGINT, COUNT(*)) as numbers, JSON/JSONB parsed;
 * - `rowCount` is the number of rows the statement returned or changed.
 */
import { HindsightError } from './errors';

export type SqlValue = string | number | boolean | null | TypedSqlValue;

/**
 * The database refused to return a result this large (the RDS Data API answers at most 1 MiB per
 * statement). Nothing was changed; the same read in smaller pages can succeed.
 */
export class SqlResultTooLargeError extends HindsightError {}

/**
 * A value with an explicit SQL type, for places where the database cannot infer it from the
 * statement. The Data API needs these as `typeHint`s; PostgreSQL drivers send the text.
 */
export interface TypedSqlValue {
  readonly type: 'date' | 'timestamp' | 'decimal' | 'json' | 'uuid';
  readonly value: string;
}

export const sqlDate = (value: string): TypedSqlValue => ({ type: 'date', value });
export const sqlTimestamp = (value: string): TypedSqlValue => ({ type: 'timestamp', value });
export const sqlDecimal = (value: string): TypedSqlValue => ({ type: 'decimal', value });
export const sqlJson = (value: unknown): TypedSqlValue => ({ type: 'json', value: JSON.stringify(value) });
export const sqlUuid = (value: string): TypedSqlValue => ({ type: 'uuid', value });

export type SqlRow = Record<string, unknown>;

export interface SqlResult<Row extends SqlRow = SqlRow> {
  readonly rows: Row[];
  readonly rowCount: number;
}

/** Runs one statement. Inside a transaction, every statement of the transaction goes through one of these. */
export interface SqlExecutor {
  query<Row extends SqlRow = SqlRow>(text: string, params?: readonly SqlValue[]): Promise<SqlResult<Row>>;
}

/** A database connection that can open transactions. */
export interface SqlClient extends SqlExecutor {
  /**
   * Runs `work` in one transaction: commits when it resolves, rolls back when it throws
   * (and rethrows). Nested calls are not supported.
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** Short human name of the backend, for logs and benchmark tables (e.g. `pglite`, `postgres`). */
  readonly kind: string;
}

/** The plain text sent for a parameter, for drivers that take text and let the server type it. */
export function sqlValueText(value: SqlValue): string | number | boolean | null {
  if (value === null || typeof value !== 'object') return value;
  return value.value;
}

/** A client that counts the statements sent through it, transaction control excluded. */
export class CountingSqlClient implements SqlClient {
  statements = 0;
  constructor(private readonly inner: SqlClient) {}

  get kind(): string {
    return this.inner.kind;
  }

  query<Row extends SqlRow = SqlRow>(text: string, params?: readonly SqlValue[]): Promise<SqlResult<Row>> {
    this.statements++;
    return this.inner.query<Row>(text, params);
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.inner.transaction((tx) =>
      work({
        query: <Row extends SqlRow = SqlRow>(text: string, params?: readonly SqlValue[]) => {
          this.statements++;
          return tx.query<Row>(text, params);
        },
      }),
    );
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
