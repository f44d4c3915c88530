/**
 * The orders example's stages, one by one, on PGlite: what each one computes (the framework's
 * own tests run the meters fixture; these hold the example to its word).
 */
import { join } from 'node:path';
import { dateRange, type IsoDate } from '../../lambdas/engine/dates';
import { InvalidInputError } from '../../lambdas/engine/errors';
import type { SqlClient, SqlValue } from '../../lambdas/engine/sql';
import type { PipelineParams } from '../../lambdas/engine/stage';
import { runStage } from '../../lambdas/workflow/stage-runner';
import { databaseKinds, dumpTables, resetDatabase } from '../../test/support/databases';
import { pipeline } from '../index';
import { DEFAULT_ROWS_PER_DAY } from '../source-size';

const EXAMPLE_MIGRATIONS = join(__dirname, '..', 'migrations');
const ROWS = 240;
const params: PipelineParams = { rowsPerDay: String(ROWS) };
const REASONS = [
  'superseded',
  'cancelled',
  'refunded',
  'invalid quantity',
  'no customer',
  'unknown currency',
];

describe('The orders example’s stages on PGlite', () => {
  let sql: SqlClient;
  let fence = 0;

  /** Runs `stages` (every stage by default) for each date in turn. */
  async function run(dates: readonly IsoDate[], stages = pipeline.names, runParams = params): Promise<void> {
    fence++;
    for (const date of dates)
      for (const stage of stages)
        await runStage(sql, pipeline, { stage, date, fenceToken: fence }, runParams);
  }

  async function count(query: string, values: SqlValue[] = []): Promise<number> {
    const { rows } = await sql.query<{ n: number }>(query, values);
    return Number(rows[0].n);
  }

  beforeAll(async () => {
    sql = await databaseKinds()[0].open({ migrations: EXAMPLE_MIGRATIONS });
  });
  beforeEach(async () => {
    await resetDatabase(sql);
    fence = 0;
  });
  afterAll(() => sql.close());

  describe('ingest', () => {
    it('loads rowsPerDay deliveries, the same ones every time for a date and other ones for another date', async () => {
      await run(['2026-03-01'], ['ingest']);
      const first = await dumpTables(sql, ['raw_orders']);
      expect(first.raw_orders).toHaveLength(ROWS);

      await run(['2026-03-01'], ['ingest']);
      expect(await dumpTables(sql, ['raw_orders'])).toEqual(first);

      await run(['2026-03-02'], ['ingest']);
      const orders = (day: string) =>
        sql.query<{ order_id: string; product: string; quantity: number }>(
          'SELECT order_id, product, quantity FROM raw_orders WHERE day = $1::date ORDER BY order_id, created_at',
          [day],
        );
      const [march1, march2] = [(await orders('2026-03-01')).rows, (await orders('2026-03-02')).rows];
      expect(march2).toHaveLength(ROWS);
      expect(march2.map(({ product, quantity }) => [product, quantity])).not.toEqual(
        march1.map(({ product, quantity }) => [product, quantity]),
      );
      expect(march2.every((row) => row.order_id.startsWith('O20260302-'))).toBe(true);
    });

    it('is sized by params.rowsPerDay, defaulting to its default, and refuses a size that is not a whole number', async () => {
      await run(['2026-03-01'], ['ingest'], { rowsPerDay: '37' });
      expect(await count('SELECT count(*)::int AS n FROM raw_orders')).toBe(37);
      await run(['2026-03-01'], ['ingest'], {});
      expect(await count('SELECT count(*)::int AS n FROM raw_orders')).toBe(DEFAULT_ROWS_PER_DAY);

      const refused = runStage(
        sql,
        pipeline,
        { stage: 'ingest', date: '2026-03-02', fenceToken: 99 },
        {
          rowsPerDay: 'lots',
        },
      );
      await expect(refused).rejects.toThrow(InvalidInputError);
      await expect(refused).rejects.toThrow('Invalid params.rowsPerDay: got "lots"');
      expect(await count("SELECT count(*)::int AS n FROM raw_orders WHERE day = '2026-03-02'")).toBe(0);
    });

    it('delivers the dirt real feeds have: re-sent orders, odd currency codes, missing customers, cancellations', async () => {
      await run(['2026-03-01'], ['ingest']);
      // Every 25th delivery re-sends the order before it.
      expect(await count('SELECT count(*) - count(DISTINCT order_id) AS n FROM raw_orders')).toBe(
        Math.floor(ROWS / 25),
      );
      expect(
        await count("SELECT count(*)::int AS n FROM raw_orders WHERE currency NOT IN ('EUR', 'USD', 'GBP')"),
      ).toBeGreaterThan(0);
      expect(
        await count("SELECT count(*)::int AS n FROM raw_orders WHERE lower(status) <> 'paid'"),
      ).toBeGreaterThan(0);
      expect(
        await count('SELECT count(*)::int AS n FROM raw_orders WHERE customer_id IS NULL'),
      ).toBeGreaterThan(0);
    });
  });

  describe('transform', () => {
    beforeEach(() => run(['2026-03-01'], ['ingest', 'transform']));

    it('keeps one row per order, its latest delivery', async () => {
      expect(await count('SELECT count(*) - count(DISTINCT order_id) AS n FROM clean_orders')).toBe(0);
      // Each kept order is the latest delivery of its id.
      expect(
        await count(
          `SELECT count(*)::int AS n FROM clean_orders AS c
           JOIN raw_orders AS r ON r.order_id = c.order_id AND r.rejected_reason IS NULL
           WHERE r.created_at < (SELECT max(created_at) FROM raw_orders WHERE order_id = c.order_id)`,
        ),
      ).toBe(0);
      expect(await count("SELECT count(*)::int AS n FROM rejected_orders WHERE reason = 'superseded'")).toBe(
        Math.floor(ROWS / 25),
      );
    });

    it('normalises every amount to EUR at the fixed rates, whatever the case or spacing of the currency code', async () => {
      const { rows } = await sql.query<{ currency: string; n: number; wrong: number }>(
        `SELECT upper(trim(r.currency)) AS currency, count(*)::int AS n,
                count(*) FILTER (WHERE c.unit_price_eur <> round(r.unit_price * fx.rate, 2)
                                    OR c.amount_eur <> round(r.quantity * r.unit_price * fx.rate, 2))::int AS wrong
         FROM clean_orders AS c
         JOIN raw_orders AS r ON r.day = c.day AND r.order_id = c.order_id AND r.rejected_reason IS NULL
         JOIN (VALUES ('EUR', 1.00), ('USD', 0.92), ('GBP', 1.17)) AS fx (currency, rate)
           ON fx.currency = upper(trim(r.currency))
         GROUP BY 1 ORDER BY 1`,
      );
      expect(rows.map((row) => row.currency)).toEqual(['EUR', 'GBP', 'USD']);
      expect(rows.every((row) => row.n > 0 && row.wrong === 0)).toBe(true);
      expect(rows.reduce((sum, row) => sum + row.n, 0)).toBe(
        await count('SELECT count(*)::int AS n FROM clean_orders'),
      );
      // ' eur ', 'usd' and 'gbp' deliveries were kept, normalised.
      expect(
        await count(
          `SELECT count(*)::int AS n FROM clean_orders AS c JOIN raw_orders AS r
             ON r.order_id = c.order_id AND r.rejected_reason IS NULL
           WHERE r.currency NOT IN ('EUR', 'USD', 'GBP')`,
        ),
      ).toBeGreaterThan(0);
    });

    it('keeps only paid orders with a customer and a positive quantity; records every other delivery with its reason', async () => {
      expect(
        await count(
          `SELECT count(*)::int AS n FROM clean_orders AS c JOIN raw_orders AS r
             ON r.order_id = c.order_id AND r.rejected_reason IS NULL
           WHERE lower(r.status) <> 'paid' OR r.quantity <= 0 OR r.customer_id IS NULL`,
        ),
      ).toBe(0);
      const raw = await count('SELECT count(*)::int AS n FROM raw_orders');
      const clean = await count('SELECT count(*)::int AS n FROM clean_orders');
      const rejected = await count('SELECT count(*)::int AS n FROM rejected_orders');
      expect(clean + rejected).toBe(raw);
      expect(rejected).toBeGreaterThan(0);

      // Each rejected delivery is listed with the reason marked on its raw row.
      expect(
        await count(
          `SELECT count(*)::int AS n FROM rejected_orders AS j
           JOIN raw_orders AS r ON r.order_id = j.order_id AND r.created_at = j.created_at AND r.rejected_reason = j.reason`,
        ),
      ).toBe(rejected);
      const { rows } = await sql.query<{ reason: string }>(
        'SELECT DISTINCT reason FROM rejected_orders ORDER BY reason',
      );
      const reasons = rows.map((row) => row.reason);
      expect(reasons.every((reason) => REASONS.includes(reason))).toBe(true);
      expect(reasons).toEqual(expect.arrayContaining(['superseded', 'cancelled', 'no customer']));
      // The reasons are the right ones.
      expect(
        await count(
          `SELECT count(*)::int AS n FROM rejected_orders AS j JOIN raw_orders AS r
             ON r.order_id = j.order_id AND r.created_at = j.created_at
           WHERE (j.reason = 'cancelled' AND lower(r.status) <> 'cancelled')
              OR (j.reason = 'no customer' AND r.customer_id IS NOT NULL)
              OR (j.reason = 'invalid quantity' AND r.quantity > 0)`,
        ),
      ).toBe(0);
    });
  });

  describe('aggregate, rolling and publish', () => {
    const DATES = dateRange('2026-03-01', '2026-03-09');

    beforeEach(() => run(DATES));

    it('aggregate sums the day’s clean orders per product', async () => {
      expect(
        await count(
          `SELECT count(*)::int AS n FROM daily_sales AS d
           FULL JOIN (SELECT day, product, count(*)::int AS orders, sum(quantity)::int AS units,
                             count(DISTINCT customer_id)::int AS customers, sum(amount_eur) AS revenue
                      FROM clean_orders GROUP BY day, product) AS c USING (day, product)
           WHERE d.orders IS DISTINCT FROM c.orders OR d.units IS DISTINCT FROM c.units
              OR d.customers IS DISTINCT FROM c.customers OR d.revenue_eur IS DISTINCT FROM c.revenue`,
        ),
      ).toBe(0);
      expect(await count('SELECT count(*)::int AS n FROM daily_sales')).toBeGreaterThan(0);
    });

    it('rolling sums a 7-day window per product ending on the date, shorter only before the data starts', async () => {
      const { rows } = await sql.query<{ day: string; days: number; products: number }>(
        `SELECT day::text AS day, min(days_in_window)::int AS days, count(*)::int AS products
         FROM rolling_sales GROUP BY day ORDER BY day`,
      );
      expect(rows.map((row) => [row.day, row.days])).toEqual(
        DATES.map((date, i) => [date, Math.min(i + 1, 7)]),
      );
      // Every figure equals the window's sum over daily_sales, recomputed here.
      expect(
        await count(
          `SELECT count(*)::int AS n FROM rolling_sales AS r
           JOIN LATERAL (
             SELECT count(DISTINCT day)::int AS days, sum(orders)::int AS orders, sum(revenue_eur) AS revenue,
                    COALESCE(sum(revenue_eur) FILTER (WHERE day = r.day), 0) AS today
             FROM daily_sales WHERE product = r.product AND day BETWEEN r.day - 6 AND r.day
           ) AS w ON true
           WHERE r.days_in_window <> w.days OR r.orders_7d <> w.orders OR r.revenue_7d_eur <> w.revenue
              OR r.revenue_day_eur <> w.today OR r.avg_daily_eur <> round(w.revenue / 7, 2)`,
        ),
      ).toBe(0);
      // The window reads earlier dates: rolling for the last date read the six before it.
      const { rows: ledger } = await sql.query<{ input_run_ids: Record<string, Record<string, string>> }>(
        'SELECT input_run_ids FROM hindsight_stage_state WHERE stage = $1 AND day = $2::date',
        ['rolling', DATES[DATES.length - 1]],
      );
      expect(Object.keys(ledger[0].input_run_ids)).toEqual(['aggregate']);
      expect(Object.keys(ledger[0].input_run_ids.aggregate).sort()).toEqual(DATES.slice(-7));
    });

    it('publish ranks products by their week, each day’s shares adding up to one', async () => {
      const { rows } = await sql.query<{ day: string; ranks: number[]; share: string }>(
        `SELECT day::text AS day, array_agg(rank ORDER BY revenue_7d_eur DESC, product) AS ranks,
                sum(share_of_day)::text AS share
         FROM sales_report GROUP BY day ORDER BY day`,
      );
      expect(rows.map((row) => row.day)).toEqual(DATES);
      for (const row of rows) {
        expect(row.ranks).toEqual(row.ranks.map((_, i) => i + 1));
        expect(Math.abs(Number(row.share) - 1)).toBeLessThan(0.01);
      }
    });
  });
});
