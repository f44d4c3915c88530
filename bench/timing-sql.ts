/** A SqlClient that counts statements and adds up the time spent waiting for them (transaction control excluded). */
import { performance } from 'node:perf_hooks';
import type { SqlClient, SqlExecutor, SqlResult, SqlRow, SqlValue } from '../lambdas/engine/sql';

export class TimingSqlClient implements SqlClient {
  statements = 0;
  ms = 0;
  constructor(private readonly inner: SqlClient) {}

  get kind(): string {
    return this.inner.kind;
  }

  query<Row extends SqlRow = SqlRow>(text: string, params?: readonly SqlValue[]): Promise<SqlResult<Row>> {
    return this.time(() => this.inner.query<Row>(text, params));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.inner.transaction((tx) =>
      work({
        query: <Row extends SqlRow = SqlRow>(text: string, params?: readonly SqlValue[]) =>
          this.time(() => tx.query<Row>(text, params)),
      }),
    );
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async time<T>(statement: () => Promise<T>): Promise<T> {
    this.statements++;
    const start = performance.now();
    try {
      return await statement();
    } finally {
      this.ms += performance.now() - start;
    }
  }
}
