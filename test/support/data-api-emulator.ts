/**
 * The RDS Data API in front of an embedded PostgreSQL, for tests that mock `RDSDataClient` with
 * aws-sdk-client-mock: statements really run, and answers come back in the Data API's shape
 * (typed records, column metadata with PostgreSQL type names, DATE and TIMESTAMP as text, NUMERIC as
 * a string), with its 1 MiB response limit. So the Data API adapter and every query above it are
 * exercised on real SQL, without AWS.
 *
 * One connection, like PGlite: statements run one at a time, and a statement outside the open
 * transaction is refused rather than silently joining it.
 */
import { randomBytes } from 'node:crypto';
import {
  BadRequestException,
  BeginTransactionCommand,
  type BeginTransactionCommandOutput,
  type ColumnMetadata,
  CommitTransactionCommand,
  type CommitTransactionCommandOutput,
  DatabaseErrorException,
  ExecuteStatementCommand,
  type ExecuteStatementCommandInput,
  type ExecuteStatementCommandOutput,
  type Field,
  RDSDataClient,
  RollbackTransactionCommand,
  type RollbackTransactionCommandOutput,
  type SqlParameter,
  TransactionNotFoundException,
} from '@aws-sdk/client-rds-data';
import { PGlite } from '@electric-sql/pglite';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { DataApiSqlClient } from '../../lambdas/adapters/data-api-sql';

/** The Data API refuses a response of more than 1 MiB of records. */
export const DATA_API_RESPONSE_LIMIT_BYTES = 1024 * 1024;

/** PostgreSQL type names by OID, as the Data API's `columnMetadata.typeName` gives them. */
const TYPE_NAMES: Record<number, string> = {
  16: 'bool',
  18: 'char',
  19: 'name',
  20: 'int8',
  21: 'int2',
  23: 'int4',
  25: 'text',
  26: 'oid',
  114: 'json',
  700: 'float4',
  701: 'float8',
  1042: 'bpchar',
  1043: 'varchar',
  1082: 'date',
  1114: 'timestamp',
  1184: 'timestamptz',
  1700: 'numeric',
  2950: 'uuid',
  3802: 'jsonb',
};

/** Every type as PostgreSQL's text: the emulator decides the Data API shape itself. */
const RAW_TEXT = Object.fromEntries(Object.keys(TYPE_NAMES).map((oid) => [oid, (text: string) => text]));

const CASTS: Record<string, string> = {
  DATE: 'date',
  TIMESTAMP: 'timestamp',
  DECIMAL: 'numeric',
  JSON: 'json',
  UUID: 'uuid',
};

/** Where the Data API's statements run. */
export class DataApiEmulator {
  /** Every statement executed, in order, as sent (named placeholders). */
  readonly statements: string[] = [];
  private transactionId: string | undefined;

  private constructor(private readonly db: PGlite) {}

  /** A new in-memory database. */
  static async create(): Promise<DataApiEmulator> {
    const db = await PGlite.create();
    await db.exec("SET TIME ZONE 'UTC'");
    return new DataApiEmulator(db);
  }

  /**
   * A Data API client for a made-up cluster, whose calls reach this database once `route` has
   * been given the `RDSDataClient` mock.
   */
  sqlClient(): DataApiSqlClient {
    return new DataApiSqlClient({
      resourceArn: 'arn:aws:rds:eu-west-1:123456789012:cluster:hindsight',
      secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hindsight-AbCdEf',
      database: 'hindsight',
      client: new RDSDataClient({ region: 'eu-west-1' }),
    });
  }

  /** Answers every Data API call of `mock` (an aws-sdk-client-mock of `RDSDataClient`) from this database. */
  route(mock: AwsClientStub<RDSDataClient>): void {
    mock.on(ExecuteStatementCommand).callsFake((input) => this.executeStatement(input));
    mock.on(BeginTransactionCommand).callsFake(() => this.beginTransaction());
    mock.on(CommitTransactionCommand).callsFake((input) => this.commitTransaction(input.transactionId));
    mock.on(RollbackTransactionCommand).callsFake((input) => this.rollbackTransaction(input.transactionId));
  }

  async beginTransaction(): Promise<BeginTransactionCommandOutput> {
    if (this.transactionId !== undefined) {
      throw new BadRequestException({
        message: 'The emulator runs one transaction at a time.',
        $metadata: {},
      });
    }
    await this.db.exec('BEGIN');
    this.transactionId = randomBytes(12).toString('base64');
    return { transactionId: this.transactionId, $metadata: {} };
  }

  async commitTransaction(transactionId: string | undefined): Promise<CommitTransactionCommandOutput> {
    this.endTransaction(transactionId);
    await this.db.exec('COMMIT');
    return { transactionStatus: 'Transaction Committed', $metadata: {} };
  }

  async rollbackTransaction(transactionId: string | undefined): Promise<RollbackTransactionCommandOutput> {
    this.endTransaction(transactionId);
    await this.db.exec('ROLLBACK');
    return { transactionStatus: 'Rollback Complete', $metadata: {} };
  }

  async executeStatement(input: ExecuteStatementCommandInput): Promise<ExecuteStatementCommandOutput> {
    if (input.transactionId !== this.transactionId) {
      throw new TransactionNotFoundException({
        message: `Transaction ${input.transactionId ?? '(none)'} is not the open one (${this.transactionId ?? 'none'}).`,
        $metadata: {},
      });
    }
    const { text, values } = toPositional(input.sql ?? '', input.parameters ?? []);
    this.statements.push(input.sql ?? '');
    let result: Awaited<ReturnType<PGlite['query']>>;
    try {
      result = await this.db.query(text, values, { parsers: RAW_TEXT, rowMode: 'array' });
    } catch (error) {
      throw new DatabaseErrorException({ message: `ERROR: ${(error as Error).message}`, $metadata: {} });
    }
    const columnMetadata: ColumnMetadata[] = result.fields.map((field) => ({
      name: field.name,
      label: field.name,
      typeName: TYPE_NAMES[field.dataTypeID] ?? `oid${field.dataTypeID}`,
    }));
    const records = (result.rows as unknown[][]).map((row) =>
      row.map((value, index) => toField(value, columnMetadata[index].typeName ?? '')),
    );
    if (JSON.stringify(records).length > DATA_API_RESPONSE_LIMIT_BYTES) {
      throw new BadRequestException({
        message: 'Database returned more than the allowed response size limit',
        $metadata: {},
      });
    }
    return {
      ...(result.fields.length > 0 ? { columnMetadata, records } : {}),
      numberOfRecordsUpdated: result.fields.length > 0 ? 0 : (result.affectedRows ?? 0),
      $metadata: {},
    };
  }

  close(): Promise<void> {
    return this.db.close();
  }

  private endTransaction(transactionId: string | undefined): void {
    if (transactionId === undefined || transactionId !== this.transactionId) {
      throw new TransactionNotFoundException({
        message: `Transaction ${transactionId} is not open.`,
        $metadata: {},
      });
    }
    this.transactionId = undefined;
  }
}

/** `:p1` → `$1`, hinted parameters cast to their type as the Data API does. */
function toPositional(sql: string, parameters: readonly SqlParameter[]): { text: string; values: unknown[] } {
  const positions = new Map(parameters.map((parameter, index) => [parameter.name ?? '', index + 1]));
  const text = sql.replace(/(?<![:\w]):([A-Za-z_]\w*)/g, (match, name: string) => {
    const position = positions.get(name);
    if (position === undefined) return match;
    const cast = CASTS[parameters[position - 1].typeHint ?? ''];
    return cast ? `($${position}::${cast})` : `$${position}`;
  });
  return { text, values: parameters.map((parameter) => plain(parameter.value ?? { isNull: true })) };
}

function plain(field: Field): unknown {
  if (field.isNull) return null;
  return field.stringValue ?? field.longValue ?? field.doubleValue ?? field.booleanValue ?? null;
}

/** One value from PostgreSQL's text to the Data API's field, by type name. */
function toField(value: unknown, typeName: string): Field {
  if (value === null || value === undefined) return { isNull: true };
  const text = String(value);
  switch (typeName) {
    case 'bool':
      return { booleanValue: text === 't' || text === 'true' };
    case 'int2':
    case 'int4':
    case 'int8':
    case 'oid':
      return { longValue: Number(text) };
    case 'float4':
    case 'float8':
      return { doubleValue: Number(text) };
    case 'timestamptz':
      // The Data API gives instants in UTC without an offset.
      return {
        stringValue: new Date(text.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00'))
          .toISOString()
          .replace('T', ' ')
          .replace('Z', ''),
      };
    default:
      return { stringValue: text };
  }
}
