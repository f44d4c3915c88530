import {
  type ArrayValue,
  BeginTransactionCommand,
  type ColumnMetadata,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  type ExecuteStatementCommandOutput,
  type Field,
  RDSDataClient,
  type RDSDataClientConfig,
  RollbackTransactionCommand,
  type SqlParameter,
  type TypeHint,
} from '@aws-sdk/client-rds-data';
import { HindsightError } from '../engine/errors';
import {
  type SqlClient,
  type SqlExecutor,
  type SqlResult,
  SqlResultTooLargeError,
  type SqlRow,
  type SqlValue,
  type TypedSqlValue,
} from '../engine/sql';
import { isIdentifierChar, skipLiteralOrComment } from '../engine/sql-script';

/** A parameter cannot be sent through the Data API as it is. Nothing was sent. */
export class SqlParameterError extends HindsightError {}

/** A value the Data API returned does not fit the SQL port's contract (e.g. a BIGINT beyond 2^53). */
export class SqlResultError extends HindsightError {}

/** The cluster was still resuming after every attempt. No statement ran, so retrying later is safe. */
export class DatabaseStillResumingError extends HindsightError {}

/**
 * The client the adapter builds when none is given. The Data API cuts every call at 45 s, so the
 * request timeout sits above that and the API's own timeout error arrives first. `maxAttempts: 1`
 * because a statement is not idempotent: a retried INSERT whose first response was lost would run twice.
 */
export const DATA_API_CLIENT_CONFIG: RDSDataClientConfig = {
  maxAttempts: 1,
  requestHandler: { connectionTimeout: 5_000, requestTimeout: 55_000, throwOnRequestTimeout: true },
};

/** Where to log a failed rollback, which must not hide the error that caused it. */
export interface RollbackFailureLogger {
  error(message: string, details: Record<string, unknown>): void;
}

export interface DataApiSqlClientProps {
  /** ARN of the Aurora cluster. */
  readonly resourceArn: string;
  /** ARN of the Secrets Manager secret holding the database credentials. */
  readonly secretArn: string;
  readonly database: string;
  /** @default a client built from `DATA_API_CLIENT_CONFIG`, destroyed by `close()` */
  readonly client?: RDSDataClient;
  /**
   * Calls made when a paused Serverless v2 cluster answers `DatabaseResumingException`, first included.
   * @default 6
   */
  readonly resumeAttempts?: number;
  /**
   * Wait before retry number `retry` (1-based) after `DatabaseResumingException`.
   * @default 1 s doubling up to 10 s (about 25 s in all, above the ~15 s a resume takes)
   */
  readonly resumeDelayMs?: (retry: number) => number;
  /** @default console */
  readonly logger?: RollbackFailureLogger;
}

/**
 * The SQL port over the RDS Data API, for Aurora PostgreSQL.
 *
 * Results are read as typed records with column metadata, not `formatRecordsAs: 'JSON'`: the API
 * leaves `columnMetadata` blank in JSON mode, and without column types a DATE, TIMESTAMP or JSON value
 * cannot be told from text, so the port's normalisation would be guesswork.
 */
export class DataApiSqlClient implements SqlClient {
  readonly kind = 'data-api';
  private readonly client: RDSDataClient;
  private readonly ownsClient: boolean;
  private readonly target: { resourceArn: string; secretArn: string; database: string };
  private readonly resumeAttempts: number;
  private readonly resumeDelayMs: (retry: number) => number;
  private readonly logger: RollbackFailureLogger;

  constructor(props: DataApiSqlClientProps) {
    this.client = props.client ?? new RDSDataClient(DATA_API_CLIENT_CONFIG);
    this.ownsClient = props.client === undefined;
    this.target = { resourceArn: props.resourceArn, secretArn: props.secretArn, database: props.database };
    this.resumeAttempts = Math.max(1, props.resumeAttempts ?? 6);
    this.resumeDelayMs = props.resumeDelayMs ?? ((retry) => Math.min(1_000 * 2 ** (retry - 1), 10_000));
    this.logger = props.logger ?? console;
  }

  query<Row extends SqlRow = SqlRow>(
    text: string,
    params: readonly SqlValue[] = [],
  ): Promise<SqlResult<Row>> {
    return this.execute<Row>(text, params, undefined);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const { transactionId } = await this.whenResumed(() =>
      this.client.send(new BeginTransactionCommand({ ...this.target })),
    );
    if (!transactionId) throw new SqlResultError('BeginTransaction returned no transactionId.');
    const tx: SqlExecutor = {
      query: <Row extends SqlRow = SqlRow>(text: string, params: readonly SqlValue[] = []) =>
        this.execute<Row>(text, params, transactionId),
    };
    let result: T;
    try {
      result = await work(tx);
    } catch (error) {
      try {
        await this.client.send(new RollbackTransactionCommand({ ...this.target, transactionId }));
      } catch (rollbackError) {
        // The Data API drops an abandoned transaction after 3 minutes idle; the caller needs `error`.
        this.logger.error('Rollback failed after the transaction work failed; rethrowing the work error', {
          transactionId,
          error,
          rollbackError,
        });
      }
      throw error;
    }
    await this.client.send(new CommitTransactionCommand({ ...this.target, transactionId }));
    return result;
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  private async execute<Row extends SqlRow>(
    text: string,
    params: readonly SqlValue[],
    transactionId: string | undefined,
  ): Promise<SqlResult<Row>> {
    const { sql, placeholders } = toNamedPlaceholders(text);
    const parameters = toParameters(params, placeholders);
    const command = new ExecuteStatementCommand({
      ...this.target,
      sql,
      parameters,
      ...(transactionId === undefined ? {} : { transactionId }),
      includeResultMetadata: true,
      formatRecordsAs: 'NONE',
      resultSetOptions: { decimalReturnType: 'STRING' },
    });
    const output = await this.whenResumed(() => this.client.send(command)).catch((error: unknown) => {
      throw isResponseTooLarge(error)
        ? new SqlResultTooLargeError(
            'The Data API refused a result over its 1 MiB response limit; read it in smaller pages.',
            { cause: error },
          )
        : error;
    });
    // Each adapter decodes into the port's shape; the row type is the caller's declaration, as with pg.
    return decodeResult(output) as SqlResult<Row>;
  }

  /** Retries only `DatabaseResumingException`: the cluster refused the call before running anything. */
  private async whenResumed<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (!isResuming(error)) throw error;
        if (attempt >= this.resumeAttempts) {
          throw new DatabaseStillResumingError(
            `The Aurora cluster was still resuming after ${attempt} attempts; nothing was executed. Retry later.`,
            { cause: error },
          );
        }
        await sleep(this.resumeDelayMs(attempt));
      }
    }
  }
}

/** The Data API's answer to a result over 1 MiB: a BadRequestException about the response size. */
function isResponseTooLarge(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'BadRequestException' &&
    /response size|response exceeded size/i.test(error.message)
  );
}

function isResuming(error: unknown): boolean {
  return error instanceof Error && error.name === 'DatabaseResumingException';
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

// ---------------------------------------------------------------------------------------------
// Placeholders: `$1` → `:p1`. The Data API only takes named parameters.

/** The statement with `$n` rewritten to `:pn`, and the distinct `n`s it uses, in order of appearance. */
export function toNamedPlaceholders(text: string): { sql: string; placeholders: number[] } {
  let sql = '';
  const placeholders: number[] = [];
  let i = 0;
  while (i < text.length) {
    const skipped = skipLiteralOrComment(text, i);
    if (skipped > i) {
      sql += text.slice(i, skipped);
      i = skipped;
      continue;
    }
    const placeholder =
      text[i] === '$' && !isIdentifierChar(text[i - 1]) ? /^\$(\d+)/.exec(text.slice(i)) : null;
    if (placeholder) {
      const position = Number(placeholder[1]);
      if (!placeholders.includes(position)) placeholders.push(position);
      sql += `:p${position}`;
      i += placeholder[0].length;
      continue;
    }
    sql += text[i];
    i++;
  }
  return { sql, placeholders };
}

// ---------------------------------------------------------------------------------------------
// Parameters.

const TYPE_HINTS: Record<TypedSqlValue['type'], TypeHint> = {
  date: 'DATE',
  timestamp: 'TIMESTAMP',
  decimal: 'DECIMAL',
  json: 'JSON',
  uuid: 'UUID',
};

function toParameters(params: readonly SqlValue[], placeholders: readonly number[]): SqlParameter[] {
  const missing = placeholders.filter((position) => position < 1 || position > params.length);
  if (missing.length > 0) {
    throw new SqlParameterError(
      `The statement uses ${missing.map((n) => `$${n}`).join(', ')} but ${params.length} parameter(s) were given.`,
    );
  }
  const unused = params.map((_, index) => index + 1).filter((position) => !placeholders.includes(position));
  if (unused.length > 0) {
    // PostgreSQL refuses these too ("could not determine data type"); say so before sending.
    throw new SqlParameterError(
      `Parameter(s) ${unused.map((n) => `$${n}`).join(', ')} were given but the statement never uses them.`,
    );
  }
  return params.map((value, index) => toParameter(value, index + 1));
}

function toParameter(value: SqlValue, position: number): SqlParameter {
  const name = `p${position}`;
  if (value === null) return { name, value: { isNull: true } };
  if (typeof value === 'string') return { name, value: { stringValue: value } };
  if (typeof value === 'boolean') return { name, value: { booleanValue: value } };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new SqlParameterError(
        `Refused parameter $${position}: ${value} is not a finite number, and the Data API cannot send it. ` +
          'Pass null, or a finite number.',
      );
    }
    if (!Number.isInteger(value)) return { name, value: { doubleValue: value } };
    if (!Number.isSafeInteger(value)) {
      throw new SqlParameterError(
        `Refused parameter $${position}: ${value} is beyond Number.MAX_SAFE_INTEGER and would not arrive exactly. ` +
          'Pass it as sqlDecimal("…") instead.',
      );
    }
    return { name, value: { longValue: value } };
  }
  const text = value.type === 'timestamp' ? toDataApiTimestamp(value.value, position) : value.value;
  return { name, value: { stringValue: text }, typeHint: TYPE_HINTS[value.type] };
}

const TIMESTAMP_TEXT =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?)?$/i;

/** `2026-01-02T03:04:05.678Z` → `2026-01-02 03:04:05.678` (UTC), the only form the TIMESTAMP hint accepts. */
function toDataApiTimestamp(text: string, position: number): string {
  const instant = parseTimestamp(text);
  if (instant === undefined) {
    throw new SqlParameterError(
      `Refused parameter $${position}: ${JSON.stringify(text)} is not a timestamp; ` +
        'expected ISO-8601 such as 2026-01-02T03:04:05.678Z.',
    );
  }
  return instant.toISOString().replace('T', ' ').replace('Z', '');
}

/** A timestamp in ISO or PostgreSQL text form; without an offset it is UTC, the zone Hindsight's sessions use. */
function parseTimestamp(text: string): Date | undefined {
  const match = TIMESTAMP_TEXT.exec(text.trim());
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction = '', , sign, offsetHours, offsetMinutes] = match;
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  const utc = Date.UTC(
    Number(year),
    Number(month) - 1,
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
    millis,
  );
  const date = new Date(utc);
  // Date.UTC rolls 2026-02-30 over to March; a timestamp that does not round-trip is not a real one.
  if (
    Number.isNaN(utc) ||
    date.getUTCFullYear() !== Number(year) ||
    date.getUTCMonth() !== Number(month) - 1 ||
    date.getUTCDate() !== Number(day) ||
    date.getUTCHours() !== Number(hour) ||
    date.getUTCMinutes() !== Number(minute) ||
    date.getUTCSeconds() !== Number(second)
  ) {
    return undefined;
  }
  if (sign === undefined) return date;
  const offset = (Number(offsetHours) * 60 + Number(offsetMinutes ?? 0)) * (sign === '-' ? -1 : 1);
  return new Date(utc - offset * 60_000);
}

// ---------------------------------------------------------------------------------------------
// Results.

function decodeResult(output: ExecuteStatementCommandOutput): SqlResult {
  const columns = output.columnMetadata ?? [];
  const records = output.records ?? [];
  if (columns.length === 0 && records.length === 0) {
    return { rows: [], rowCount: output.numberOfRecordsUpdated ?? 0 };
  }
  if (records.length > 0 && columns.length === 0) {
    throw new SqlResultError(
      'The Data API returned records without column metadata, so they cannot be named.',
    );
  }
  const rows = records.map((record) => {
    const row: SqlRow = {};
    record.forEach((field, index) => {
      const column = columns[index];
      if (!column) throw new SqlResultError(`The Data API returned no metadata for column ${index + 1}.`);
      const name = column.label || column.name || `?column?${index + 1}`;
      row[name] = decodeField(field, column, name);
    });
    return row;
  });
  return { rows, rowCount: rows.length };
}

const INTEGER_TYPES = new Set(['int2', 'int4', 'int8', 'smallserial', 'serial', 'bigserial']);

/** One value in the port's shape, by the column's PostgreSQL type name. */
function decodeField(field: Field, column: ColumnMetadata, name: string): unknown {
  if (field.isNull) return null;
  const value = plainValue(field);
  const type = (column.typeName ?? '').toLowerCase();
  if (type === 'date' && typeof value === 'string') {
    const date = /^(\d{4}-\d{2}-\d{2})(?:[ T].*)?$/.exec(value);
    if (!date)
      throw new SqlResultError(`Column ${name}: DATE value ${JSON.stringify(value)} is not YYYY-MM-DD.`);
    return date[1];
  }
  if ((type === 'timestamp' || type === 'timestamptz') && typeof value === 'string') {
    const instant = parseTimestamp(value);
    if (!instant)
      throw new SqlResultError(`Column ${name}: ${type} value ${JSON.stringify(value)} is not a timestamp.`);
    return instant.toISOString();
  }
  if (type === 'numeric' || type === 'decimal') {
    return typeof value === 'number' ? String(value) : value;
  }
  if (INTEGER_TYPES.has(type)) {
    const number = typeof value === 'string' ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isSafeInteger(number)) {
      throw new SqlResultError(
        `Column ${name}: ${type} value ${String(value)} does not fit a JavaScript number exactly; ` +
          'cast it to text or numeric in the query.',
      );
    }
    return number;
  }
  if ((type === 'json' || type === 'jsonb') && typeof value === 'string') {
    return JSON.parse(value);
  }
  return value;
}

function plainValue(field: Field): unknown {
  if (field.stringValue !== undefined) return field.stringValue;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.blobValue !== undefined) return field.blobValue;
  if (field.arrayValue !== undefined) return plainArray(field.arrayValue);
  return null;
}

function plainArray(array: ArrayValue): unknown[] {
  return (
    array.stringValues ??
    array.longValues ??
    array.doubleValues ??
    array.booleanValues ??
    array.arrayValues?.map((inner) => (inner === null ? null : plainArray(inner))) ??
    []
  );
}
