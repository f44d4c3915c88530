/**
 * The shop's stages on an in-memory embedded PostgreSQL, run as a run runs them (`npm test`):
 * what each output computes from the two sources.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openTestDatabase, type TestDatabase } from 'hindsight/testing';
import { pipeline } from '../index';

const DATES = ['2026-03-01', '2026-03-02', '2026-03-03'];

describe('the shop pipeline', () => {
  let db: TestDatabase;
  before(async () => {
    db = await openTestDatabase({ pipeline, migrations: join(__dirname, '..', 'migrations') });
    await db.runStages(DATES);
  });
  after(() => db.close());

  it('builds one session per visitor and day from the web events', async () => {
    const [counts] = await db.query<{ visitors: number; sessions: number; events: number; summed: number }>(
      `SELECT (SELECT count(DISTINCT (day, visitor))::int FROM web_events) AS visitors,
              (SELECT count(*)::int FROM sessions) AS sessions,
              (SELECT count(*)::int FROM web_events) AS events,
              (SELECT sum(events)::int FROM sessions) AS summed`,
    );
    assert.equal(counts.sessions, counts.visitors);
    assert.equal(counts.summed, counts.events);
  });

  it('counts the distinct visitors of the window in daily_active_users', async () => {
    const [row] = await db.query<{ days_in_window: number; active_users: number }>(
      `SELECT days_in_window, active_users FROM daily_active_users WHERE day = '2026-03-03'`,
    );
    const [distinct] = await db.query<{ n: number }>(
      `SELECT count(DISTINCT visitor)::int AS n FROM sessions`,
    );
    assert.deepEqual(row, { days_in_window: 3, active_users: distinct.n });
  });

  it('joins both branches in conversion: buyers are visitors with a session and an order that day', async () => {
    const rows = await db.query<{ day: string; sessions: number; buyers: number }>(
      'SELECT day, sessions, buyers FROM conversion ORDER BY day',
    );
    const expected = await db.query<{ day: string; sessions: number; buyers: number }>(
      `SELECT s.day, count(*)::int AS sessions,
              count(*) FILTER (WHERE EXISTS (SELECT 1 FROM orders o WHERE o.day = s.day AND o.visitor = s.visitor))::int AS buyers
       FROM sessions s GROUP BY s.day ORDER BY s.day`,
    );
    assert.deepEqual(rows, expected);
  });

  it("sums each country's orders into revenue_by_country", async () => {
    const [totals] = await db.query<{ revenue: string; orders: string }>(
      `SELECT (SELECT sum(revenue_cents)::text FROM revenue_by_country) AS revenue,
              (SELECT sum(amount_cents)::text FROM orders) AS orders`,
    );
    assert.equal(totals.revenue, totals.orders);
  });

  it('gives the same rows when a date is run again', async () => {
    const before = await db.query('SELECT * FROM conversion ORDER BY day');
    await db.runStages(['2026-03-02']);
    assert.deepEqual(await db.query('SELECT * FROM conversion ORDER BY day'), before);
  });
});
