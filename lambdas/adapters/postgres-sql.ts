import { Pool, type PoolClient, type QueryResult, types } from 'pg';
import {
  type SqlClient,
  type SqlExecutor,
  type SqlResult,
  type SqlRow,
  type SqlValue,
  sqlValueText,
} from '../engine/sql';
import { PG_PARSERS } from './postgres-types';

/** A real PostgreSQL server through node-postgres (`DATABASE_URL`). */
export class PostgresSqlClient implements SqlClient {
  readonly kind = 'postgres';
  private readonly pool: Pool;

  constructor(connectionString: string) {
    this.pool = new Pool({
      connectionString,
      max: 4,
      // Every session in UTC, so TIMESTAMP and now() mean the same thing as on PGlite and Aurora.
      options: '-c TimeZone=UTC',
      types: {
        getTypeParser: (oid: number, format?: 'text' | 'binary') =>
          (format !== 'binary' && PG_PARSERS[oid]) || types.getTypeParser(oid, format),
      },
    });
  }

  async query<Row extends SqlRow = SqlRow>(
    text: string,
    params: readonly SqlValue[] = [],
  ): Promise<SqlResult<Row>> {
    return toResult(await this.pool.query<Row>(text, params.map(sqlValueText)));
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const connection = await this.pool.connect();
    try {
      await connection.query('BEGIN');
      const result = await work(executorOn(connection));
      await connection.query('COMMIT');
      return result;
    } catch (error) {
      await connection.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      connection.release();
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

function executorOn(connection: PoolClient): SqlExecutor {
  return {
    query: async <Row extends SqlRow = SqlRow>(text: string, params: readonly SqlValue[] = []) =>
      toResult(await connection.query<Row>(text, params.map(sqlValueText))),
  };
}

function toResult<Row extends SqlRow>(result: QueryResult<Row>): SqlResult<Row> {
  return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
}
