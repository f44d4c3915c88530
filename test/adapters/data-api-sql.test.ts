import {
  BadRequestException,
  BeginTransactionCommand,
  CommitTransactionCommand,
  DatabaseResumingException,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DATA_API_CLIENT_CONFIG,
  DataApiSqlClient,
  DatabaseStillResumingError,
  SqlParameterError,
  SqlResultError,
  toNamedPlaceholders,
} from '../../lambdas/adapters/data-api-sql';
import { sqlDate, sqlDecimal, sqlJson, sqlTimestamp, sqlUuid } from '../../lambdas/engine/sql';

const rds = mockClient(RDSDataClient);

const target = {
  resourceArn: 'arn:aws:rds:eu-west-1:123456789012:cluster:hindsight',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hindsight-db',
  database: 'hindsight',
};

/** Every ExecuteStatement carries these besides sql and parameters. */
const resultOptions = {
  includeResultMetadata: true,
  formatRecordsAs: 'NONE',
  resultSetOptions: { decimalReturnType: 'STRING' },
};

function newClient(props: { resumeAttempts?: number; logger?: { error: jest.Mock } } = {}): DataApiSqlClient {
  return new DataApiSqlClient({
    ...target,
    client: new RDSDataClient({ region: 'eu-west-1' }),
    resumeDelayMs: () => 0,
    ...props,
  });
}

const resuming = () => new DatabaseResumingException({ message: 'Database is resuming', $metadata: {} });

function executed(): Record<string, unknown>[] {
  return rds.commandCalls(ExecuteStatementCommand).map((call) => ({ ...call.args[0].input }));
}

describe('Class: DataApiSqlClient', () => {
  beforeEach(() => {
    rds.reset();
  });

  describe('Method: query', () => {
    it('sends the statement with named parameters and the cluster, secret and database', async () => {
      // Prepare
      rds.on(ExecuteStatementCommand).resolves({ numberOfRecordsUpdated: 1 });
      const client = newClient();

      // Act
      await client.query('UPDATE t SET a = $1, b = $2, c = $3, d = $4 WHERE e = $5', [
        'text',
        42,
        1.5,
        true,
        null,
      ]);

      // Assess
      expect(executed()).toEqual([
        {
          ...target,
          ...resultOptions,
          sql: 'UPDATE t SET a = :p1, b = :p2, c = :p3, d = :p4 WHERE e = :p5',
          parameters: [
            { name: 'p1', value: { stringValue: 'text' } },
            { name: 'p2', value: { longValue: 42 } },
            { name: 'p3', value: { doubleValue: 1.5 } },
            { name: 'p4', value: { booleanValue: true } },
            { name: 'p5', value: { isNull: true } },
          ],
        },
      ]);
    });

    it('sends typed values as strings with their type hints', async () => {
      // Prepare
      rds.on(ExecuteStatementCommand).resolves({ numberOfRecordsUpdated: 1 });
      const client = newClient();

      // Act
      await client.query('INSERT INTO t VALUES ($1, $2, $3, $4, $5)', [
        sqlDate('2026-01-02'),
        sqlTimestamp('2026-01-02T03:04:05.678Z'),
        sqlDecimal('12345678901234567890.0123'),
        sqlJson({ a: [1, 2] }),
        sqlUuid('5f0c6d1e-1a5b-4c1e-9d1e-2b3c4d5e6f70'),
      ]);

      // Assess
      expect(executed()[0]?.parameters).toEqual([
        { name: 'p1', value: { stringValue: '2026-01-02' }, typeHint: 'DATE' },
        { name: 'p2', value: { stringValue: '2026-01-02 03:04:05.678' }, typeHint: 'TIMESTAMP' },
        { name: 'p3', value: { stringValue: '12345678901234567890.0123' }, typeHint: 'DECIMAL' },
        { name: 'p4', value: { stringValue: '{"a":[1,2]}' }, typeHint: 'JSON' },
        { name: 'p5', value: { stringValue: '5f0c6d1e-1a5b-4c1e-9d1e-2b3c4d5e6f70' }, typeHint: 'UUID' },
      ]);
    });

    it.each([
      ['2026-01-02T03:04:05Z', '2026-01-02 03:04:05.000'],
      ['2026-01-02T03:04:05.123456Z', '2026-01-02 03:04:05.123'],
      ['2026-01-02T05:34:05+02:30', '2026-01-02 03:04:05.000'],
      ['2026-01-01T23:04:05-04:00', '2026-01-02 03:04:05.000'],
      ['2026-01-02 03:04:05', '2026-01-02 03:04:05.000'],
    ])('sends timestamp %s in UTC as %s', async (iso, sent) => {
      // Prepare
      rds.on(ExecuteStatementCommand).resolves({});
      const client = newClient();

      // Act
      await client.query('SELECT $1', [sqlTimestamp(iso)]);

      // Assess
      expect(executed()[0]?.parameters).toEqual([
        { name: 'p1', value: { stringValue: sent }, typeHint: 'TIMESTAMP' },
      ]);
    });

    it('sends the same parameter once when the statement uses it twice, and keeps casts', async () => {
      // Prepare
      rds.on(ExecuteStatementCommand).resolves({});
      const client = newClient();

      // Act
      await client.query('SELECT * FROM t WHERE d = $1::date OR e = $1::date + 1 AND f = $2', [
        '2026-01-02',
        7,
      ]);

      // Assess
      expect(executed()[0]).toMatchObject({
        sql: 'SELECT * FROM t WHERE d = :p1::date OR e = :p1::date + 1 AND f = :p2',
        parameters: [
          { name: 'p1', value: { stringValue: '2026-01-02' } },
          { name: 'p2', value: { longValue: 7 } },
        ],
      });
    });

    it('sends no transactionId outside a transaction', async () => {
      // Prepare
      rds.on(ExecuteStatementCommand).resolves({});
      const client = newClient();

      // Act
      await client.query('SELECT 1');

      // Assess
      expect(executed()[0]).not.toHaveProperty('transactionId');
      expect(executed()[0]?.parameters).toEqual([]);
    });

    it.each([
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
      [Number.NEGATIVE_INFINITY, '-Infinity'],
    ])('refuses the non-finite number %s, naming its position, and sends nothing', async (value, shown) => {
      // Prepare
      const client = newClient();

      // Act
      const result = client.query('SELECT $1, $2', ['ok', value]);

      // Assess
      await expect(result).rejects.toThrow(SqlParameterError);
      await expect(result).rejects.toThrow(
        `Refused parameter $2: ${shown} is not a finite number, and the Data API cannot send it. ` +
          'Pass null, or a finite number.',
      );
      expect(rds.calls()).toHaveLength(0);
    });

    it('refuses an integer beyond Number.MAX_SAFE_INTEGER', async () => {
      // Prepare
      const client = newClient();

      // Act
      const result = client.query('SELECT $1', [2 ** 60]);

      // Assess
      await expect(result).rejects.toThrow(/^Refused parameter \$1: .* is beyond Number.MAX_SAFE_INTEGER/);
      expect(rds.calls()).toHaveLength(0);
    });

    it('refuses a timestamp parameter that is not ISO-8601', async () => {
      // Prepare
      const client = newClient();

      // Act
      const result = client.query('SELECT $1', [sqlTimestamp('2026-02-30T00:00:00Z')]);

      // Assess
      await expect(result).rejects.toThrow(
        'Refused parameter $1: "2026-02-30T00:00:00Z" is not a timestamp; expected ISO-8601 such as 2026-01-02T03:04:05.678Z.',
      );
    });

    it('refuses a statement that uses more parameters than were given', async () => {
      // Prepare
      const client = newClient();

      // Act
      const result = client.query('SELECT $1, $3', ['a']);

      // Assess
      await expect(result).rejects.toThrow('The statement uses $3 but 1 parameter(s) were given.');
      expect(rds.calls()).toHaveLength(0);
    });

    it('refuses parameters the statement never uses', async () => {
      // Prepare
      const client = newClient();

      // Act
      const result = client.query("SELECT $1, '$2'", ['a', 'b']);

      // Assess
      await expect(result).rejects.toThrow('Parameter(s) $2 were given but the statement never uses them.');
    });

    it('decodes each column type into the port shape', async () => {
      // Prepare
      rds.on(ExecuteStatementCommand).resolves({
        columnMetadata: [
          { name: 'day', label: 'day', typeName: 'date' },
          { name: 'at', label: 'at', typeName: 'timestamp' },
          { name: 'at_tz', label: 'at_tz', typeName: 'timestamptz' },
          { name: 'amount', label: 'amount', typeName: 'numeric' },
          { name: 'count', label: 'count', typeName: 'int8' },
          { name: 'n4', label: 'n4', typeName: 'int4' },
          { name: 'n2', label: 'n2', typeName: 'int2' },
          { name: 'doc', label: 'doc', typeName: 'json' },
          { name: 'docb', label: 'docb', typeName: 'jsonb' },
          { name: 'id', label: 'id', typeName: 'uuid' },
          { name: 'ok', label: 'ok', typeName: 'bool' },
          { name: 'name', label: 'name', typeName: 'text' },
          { name: 'ratio', label: 'ratio', typeName: 'float8' },
          { name: 'gone', label: 'gone', typeName: 'text' },
        ],
        records: [
          [
            { stringValue: '2026-01-02' },
            { stringValue: '2026-01-02 03:04:05.678' },
            { stringValue: '2026-01-02 03:04:05' },
            { stringValue: '12345678901234567890.0100' },
            { longValue: 9_007_199_254_740_991 },
            { longValue: 42 },
            { longValue: -3 },
            { stringValue: '{"a":[1,{"b":null}]}' },
            { stringValue: '[1,"two"]' },
            { stringValue: '5f0c6d1e-1a5b-4c1e-9d1e-2b3c4d5e6f70' },
            { booleanValue: false },
            { stringValue: '2026-01-02' },
            { doubleValue: 0.25 },
            { isNull: true },
          ],
        ],
      });
      const client = newClient();

      // Act
      const result = await client.query('SELECT …');

      // Assess
      expect(result).toEqual({
        rowCount: 1,
        rows: [
          {
            day: '2026-01-02',
            at: '2026-01-02T03:04:05.678Z',
            at_tz: '2026-01-02T03:04:05.000Z',
            amount: '12345678901234567890.0100',
            count: 9_007_199_254_740_991,
            n4: 42,
            n2: -3,
            doc: { a: [1, { b: null }] },
            docb: [1, 'two'],
            id: '5f0c6d1e-1a5b-4c1e-9d1e-2b3c4d5e6f70',
            ok: false,
            name: '2026-01-02',
            ratio: 0.25,
            gone: null,
          },
        ],
      });
    });

    it('decodes nulls of every normalised type as null', async () => {
      // Prepare
      const types = ['date', 'timestamptz', 'numeric', 'int8', 'jsonb'];
      rds.on(ExecuteStatementCommand).resolves({
        columnMetadata: types.map((typeName) => ({ name: typeName, label: typeName, typeName })),
        records: [types.map(() => ({ isNull: true }))],
      });
      const client = newClient();

      // Act
      const { rows } = await client.query('SELECT …');

      // Assess
      expect(rows).toEqual([{ date: null, timestamptz: null, numeric: null, int8: null, jsonb: null }]);
    });

    it('decodes timestamps with microseconds or an offset to milliseconds in UTC', async () => {
      // Prepare
      rds.on(ExecuteStatementCommand).resolves({
        columnMetadata: [
          { label: 'a', typeName: 'timestamptz' },
          { label: 'b', typeName: 'timestamptz' },
        ],
        records: [[{ stringValue: '2026-01-02 03:04:05.678901' }, { stringValue: '2026-01-02 05:04:05+02' }]],
      });
      const client = newClient();

      // Act
      const { rows } = await client.query('SELECT …');

      // Assess
      expect(rows).toEqual([{ a: '2026-01-02T03:04:05.678Z', b: '2026-01-02T03:04:05.000Z' }]);
    });

    it('names columns by their label (the AS alias)', async () => {
      // Prepare
      rds.on(ExecuteStatementCommand).resolves({
        columnMetadata: [{ name: 'count', label: 'orders', typeName: 'int8' }],
        records: [[{ longValue: 3 }]],
      });
      const client = newClient();

      // Act
      const { rows } = await client.query('SELECT count(*) AS orders FROM t');

      // Assess
      expect(rows).toEqual([{ orders: 3 }]);
    });

    it('counts returned records for a SELECT or RETURNING, even when numberOfRecordsUpdated is set', async () => {
      // Prepare
      rds.on(ExecuteStatementCommand).resolves({
        numberOfRecordsUpdated: 5,
        columnMetadata: [{ label: 'id', typeName: 'int4' }],
        records: [[{ longValue: 1 }], [{ longValue: 2 }]],
      });
      const client = newClient();

      // Act
      const result = await client.query('INSERT INTO t SELECT … RETURNING id');

      // Assess
      expect(result).toEqual({ rows: [{ id: 1 }, { id: 2 }], rowCount: 2 });
    });

    it('counts an empty SELECT as zero rows', async () => {
      // Prepare
      rds.on(ExecuteStatementCommand).resolves({
        numberOfRecordsUpdated: 0,
        columnMetadata: [{ label: 'id', typeName: 'int4' }],
        records: [],
      });
      const client = newClient();

      // Act
      const result = await client.query('SELECT id FROM t WHERE false');

      // Assess
      expect(result).toEqual({ rows: [], rowCount: 0 });
    });

    it('reports numberOfRecordsUpdated as rowCount for a statement that returns no rows', async () => {
      // Prepare
      rds.on(ExecuteStatementCommand).resolves({ numberOfRecordsUpdated: 7, records: [] });
      const client = newClient();

      // Act
      const result = await client.query('DELETE FROM t WHERE d < $1', [sqlDate('2026-01-01')]);

      // Assess
      expect(result).toEqual({ rows: [], rowCount: 7 });
    });

    it('fails on an INT8 that does not fit a JavaScript number exactly', async () => {
      // Prepare
      rds.on(ExecuteStatementCommand).resolves({
        columnMetadata: [{ label: 'total', typeName: 'int8' }],
        records: [[{ longValue: 2 ** 53 }]],
      });
      const client = newClient();

      // Act
      const result = client.query('SELECT sum(x) AS total FROM t');

      // Assess
      await expect(result).rejects.toThrow(SqlResultError);
      await expect(result).rejects.toThrow(
        'Column total: int8 value 9007199254740992 does not fit a JavaScript number exactly; ' +
          'cast it to text or numeric in the query.',
      );
    });

    it('fails on a DATE value that is not YYYY-MM-DD', async () => {
      // Prepare
      rds.on(ExecuteStatementCommand).resolves({
        columnMetadata: [{ label: 'day', typeName: 'date' }],
        records: [[{ stringValue: 'infinity' }]],
      });
      const client = newClient();

      // Act
      const result = client.query('SELECT day FROM t');

      // Assess
      await expect(result).rejects.toThrow('Column day: DATE value "infinity" is not YYYY-MM-DD.');
    });

    it('retries a DatabaseResumingException until the cluster answers', async () => {
      // Prepare
      rds
        .on(ExecuteStatementCommand)
        .rejectsOnce(resuming())
        .rejectsOnce(resuming())
        .resolves({ numberOfRecordsUpdated: 1 });
      const client = newClient();

      // Act
      const result = await client.query('UPDATE t SET a = 1');

      // Assess
      expect(result.rowCount).toBe(1);
      expect(executed()).toHaveLength(3);
      expect(new Set(executed().map((input) => JSON.stringify(input))).size).toBe(1);
    });

    it('fails with DatabaseStillResumingError after the last attempt', async () => {
      // Prepare
      rds.on(ExecuteStatementCommand).rejects(resuming());
      const client = newClient({ resumeAttempts: 3 });

      // Act
      const result = client.query('SELECT 1');

      // Assess
      await expect(result).rejects.toThrow(DatabaseStillResumingError);
      await expect(result).rejects.toThrow(
        'The Aurora cluster was still resuming after 3 attempts; nothing was executed. Retry later.',
      );
      expect(executed()).toHaveLength(3);
    });

    it('fails at once on any other error, without retrying', async () => {
      // Prepare
      const error = new BadRequestException({ message: 'syntax error at or near "SELEC"', $metadata: {} });
      rds.on(ExecuteStatementCommand).rejects(error);
      const client = newClient();

      // Act
      const result = client.query('SELEC 1');

      // Assess
      await expect(result).rejects.toBe(error);
      expect(executed()).toHaveLength(1);
    });

    it('waits the injected backoff between resuming attempts', async () => {
      // Prepare
      rds.on(ExecuteStatementCommand).rejectsOnce(resuming()).rejectsOnce(resuming()).resolves({});
      const delays: number[] = [];
      const client = new DataApiSqlClient({
        ...target,
        client: new RDSDataClient({ region: 'eu-west-1' }),
        resumeDelayMs: (retry) => {
          delays.push(retry);
          return 0;
        },
      });

      // Act
      await client.query('SELECT 1');

      // Assess
      expect(delays).toEqual([1, 2]);
    });
  });

  describe('Method: transaction', () => {
    it('runs every statement in the transaction it began, then commits', async () => {
      // Prepare
      rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-1' });
      rds.on(ExecuteStatementCommand).resolves({ numberOfRecordsUpdated: 1 });
      rds.on(CommitTransactionCommand).resolves({ transactionStatus: 'Transaction Committed' });
      const client = newClient();

      // Act
      const result = await client.transaction(async (tx) => {
        await tx.query('INSERT INTO a VALUES ($1)', [1]);
        await tx.query('INSERT INTO b VALUES ($1)', [2]);
        return 'done';
      });

      // Assess
      expect(result).toBe('done');
      expect(rds.commandCalls(BeginTransactionCommand).map((call) => call.args[0].input)).toEqual([target]);
      expect(executed()).toEqual([
        {
          ...target,
          ...resultOptions,
          transactionId: 'tx-1',
          sql: 'INSERT INTO a VALUES (:p1)',
          parameters: [{ name: 'p1', value: { longValue: 1 } }],
        },
        {
          ...target,
          ...resultOptions,
          transactionId: 'tx-1',
          sql: 'INSERT INTO b VALUES (:p1)',
          parameters: [{ name: 'p1', value: { longValue: 2 } }],
        },
      ]);
      expect(rds.commandCalls(CommitTransactionCommand).map((call) => call.args[0].input)).toEqual([
        { ...target, transactionId: 'tx-1' },
      ]);
      expect(rds.commandCalls(RollbackTransactionCommand)).toHaveLength(0);
    });

    it('fails with the original error after rolling back, and never commits', async () => {
      // Prepare
      rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-2' });
      rds.on(ExecuteStatementCommand).resolves({});
      rds.on(RollbackTransactionCommand).resolves({ transactionStatus: 'Rollback Complete' });
      const failure = new Error('stage failed');
      const client = newClient();

      // Act
      const result = client.transaction(async (tx) => {
        await tx.query('INSERT INTO a VALUES (1)');
        throw failure;
      });

      // Assess
      await expect(result).rejects.toBe(failure);
      expect(rds.commandCalls(RollbackTransactionCommand).map((call) => call.args[0].input)).toEqual([
        { ...target, transactionId: 'tx-2' },
      ]);
      expect(rds.commandCalls(CommitTransactionCommand)).toHaveLength(0);
    });

    it('fails with the original error when the rollback fails too, and logs the rollback failure', async () => {
      // Prepare
      rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-3' });
      const rollbackFailure = new Error('connection reset');
      rds.on(RollbackTransactionCommand).rejects(rollbackFailure);
      const failure = new Error('stage failed');
      const logger = { error: jest.fn() };
      const client = newClient({ logger });

      // Act
      const result = client.transaction(async () => {
        throw failure;
      });

      // Assess
      await expect(result).rejects.toBe(failure);
      expect(logger.error).toHaveBeenCalledWith(
        'Rollback failed after the transaction work failed; rethrowing the work error',
        { transactionId: 'tx-3', error: failure, rollbackError: rollbackFailure },
      );
      expect(rds.commandCalls(CommitTransactionCommand)).toHaveLength(0);
    });

    it('rolls back when a statement inside the transaction fails', async () => {
      // Prepare
      rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-4' });
      const error = new BadRequestException({ message: 'duplicate key', $metadata: {} });
      rds.on(ExecuteStatementCommand).rejects(error);
      rds.on(RollbackTransactionCommand).resolves({});
      const client = newClient();

      // Act
      const result = client.transaction((tx) => tx.query('INSERT INTO a VALUES (1)'));

      // Assess
      await expect(result).rejects.toBe(error);
      expect(executed()).toHaveLength(1);
      expect(rds.commandCalls(RollbackTransactionCommand)).toHaveLength(1);
      expect(rds.commandCalls(CommitTransactionCommand)).toHaveLength(0);
    });

    it('retries BeginTransaction while the cluster resumes', async () => {
      // Prepare
      rds.on(BeginTransactionCommand).rejectsOnce(resuming()).resolves({ transactionId: 'tx-5' });
      rds.on(CommitTransactionCommand).resolves({});
      const client = newClient();

      // Act
      await client.transaction(async () => undefined);

      // Assess
      expect(rds.commandCalls(BeginTransactionCommand)).toHaveLength(2);
      expect(rds.commandCalls(CommitTransactionCommand).map((call) => call.args[0].input)).toEqual([
        { ...target, transactionId: 'tx-5' },
      ]);
    });

    it('fails without running the work when BeginTransaction fails otherwise', async () => {
      // Prepare
      const error = new BadRequestException({ message: 'access denied', $metadata: {} });
      rds.on(BeginTransactionCommand).rejects(error);
      const work = jest.fn();
      const client = newClient();

      // Act
      const result = client.transaction(work);

      // Assess
      await expect(result).rejects.toBe(error);
      expect(rds.commandCalls(BeginTransactionCommand)).toHaveLength(1);
      expect(work).not.toHaveBeenCalled();
    });
  });

  describe('Method: close', () => {
    it('destroys the client it created', async () => {
      // Prepare
      const destroy = jest.spyOn(RDSDataClient.prototype, 'destroy');
      const client = new DataApiSqlClient(target);

      // Act
      await client.close();

      // Assess
      expect(destroy).toHaveBeenCalledTimes(1);
      destroy.mockRestore();
    });

    it('leaves a client it was given open', async () => {
      // Prepare
      const given = new RDSDataClient({ region: 'eu-west-1' });
      const destroy = jest.spyOn(given, 'destroy');
      const client = new DataApiSqlClient({ ...target, client: given });

      // Act
      await client.close();

      // Assess
      expect(destroy).not.toHaveBeenCalled();
    });
  });

  describe('Property: kind', () => {
    it('is data-api', () => {
      expect(newClient().kind).toBe('data-api');
    });
  });
});

describe('Constant: DATA_API_CLIENT_CONFIG', () => {
  it('never lets the SDK retry, and times out above the 45 s statement limit', () => {
    expect(DATA_API_CLIENT_CONFIG).toEqual({
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 55_000, throwOnRequestTimeout: true },
    });
  });
});

describe('Function: toNamedPlaceholders', () => {
  it.each([
    ['SELECT $1', 'SELECT :p1', [1]],
    ['SELECT $1::date, $2::numeric(10,2)', 'SELECT :p1::date, :p2::numeric(10,2)', [1, 2]],
    ['SELECT $2, $1, $2', 'SELECT :p2, :p1, :p2', [2, 1]],
    ['SELECT $10, $1', 'SELECT :p10, :p1', [10, 1]],
    ["SELECT '$1', $1", "SELECT '$1', :p1", [1]],
    ["SELECT 'it''s $1', $1", "SELECT 'it''s $1', :p1", [1]],
    ["SELECT E'\\'$1', $1", "SELECT E'\\'$1', :p1", [1]],
    ['SELECT "$1" FROM t WHERE a = $1', 'SELECT "$1" FROM t WHERE a = :p1', [1]],
    ['SELECT "a""$1", $1', 'SELECT "a""$1", :p1', [1]],
    ['SELECT $1 -- and $2\n, $2', 'SELECT :p1 -- and $2\n, :p2', [1, 2]],
    ['SELECT /* $1 /* $2 */ $3 */ $4', 'SELECT /* $1 /* $2 */ $3 */ :p4', [4]],
    ['SELECT $$ $1 $$, $1', 'SELECT $$ $1 $$, :p1', [1]],
    ['SELECT $fn$ $1 $$ $2 $fn$, $2', 'SELECT $fn$ $1 $$ $2 $fn$, :p2', [2]],
    ['SELECT a$1 FROM t WHERE b = $1', 'SELECT a$1 FROM t WHERE b = :p1', [1]],
    ['SELECT 1', 'SELECT 1', []],
  ])('rewrites %j to %j', (text, sql, placeholders) => {
    expect(toNamedPlaceholders(text)).toEqual({ sql, placeholders });
  });
});
