import { defineStage } from 'hindsight';
import { rowsPerDay } from '../source-size';

/**
 * Loads the day's orders from the source system. The source here is a deterministic generator
 * keyed by date (the same date always yields the same orders), sized by `rowsPerDay`, with the
 * dirt real feeds have: re-delivered duplicates, lower-case currencies, missing customers,
 * cancelled orders and the odd negative quantity.
 */
export const ingest = defineStage({
  name: 'ingest',
  version: 1,
  lookbackDays: 0,
  owns: ['raw_orders'],
  description: 'Load the day’s orders from the source system, as delivered.',
  run: async ({ sql, date, params }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO raw_orders (day, order_id, customer_id, product, quantity, unit_price, currency, status, created_at)
       SELECT $1::date,
              'O' || to_char($1::date, 'YYYYMMDD') || '-' || lpad(src.n::text, 7, '0'),
              CASE WHEN h.a % 67 = 0 THEN NULL ELSE 'C' || lpad((h.b % 4000)::text, 5, '0') END,
              (ARRAY['espresso-beans','green-tea','oat-milk','dark-chocolate','granola','olive-oil',
                     'sourdough','honey','almonds','matcha','cold-brew','rooibos'])[1 + h.c % 12],
              CASE WHEN h.a % 97 = 0 THEN -1 ELSE 1 + h.d % 5 END,
              round((ARRAY[14.5, 6.2, 2.4, 3.9, 5.5, 11.8, 4.6, 8.9, 9.7, 19.0, 3.2, 5.1])[1 + h.c % 12]
                    * (0.9 + (h.e % 21) / 100.0), 2),
              (ARRAY['EUR','EUR','EUR','EUR','EUR','EUR','EUR','usd','USD','GBP',' eur ','gbp'])[1 + h.b % 12],
              CASE WHEN h.d % 41 = 0 THEN 'cancelled' WHEN h.d % 53 = 0 THEN 'refunded'
                   WHEN h.e % 7 = 0 THEN 'PAID' ELSE 'paid' END,
              $1::date + make_interval(secs => (h.e % 86400)::double precision + src.i % 60)
       FROM generate_series(1, $2::int) AS g(i)
       -- Every 25th delivery re-sends the previous order (same id and content, later timestamp).
       CROSS JOIN LATERAL (SELECT g.i AS i, CASE WHEN g.i % 25 = 0 THEN g.i - 1 ELSE g.i END AS n) AS src
       CROSS JOIN LATERAL (SELECT md5(to_char($1::date, 'YYYY-MM-DD') || ':' || src.n) AS m) AS digest
       CROSS JOIN LATERAL (
         SELECT ('x' || lpad(substr(digest.m, 1, 7), 8, '0'))::bit(32)::int AS a,
                ('x' || lpad(substr(digest.m, 8, 7), 8, '0'))::bit(32)::int AS b,
                ('x' || lpad(substr(digest.m, 15, 7), 8, '0'))::bit(32)::int AS c,
                ('x' || lpad(substr(digest.m, 22, 7), 8, '0'))::bit(32)::int AS d,
                ('x' || lpad(substr(digest.m, 26, 7), 8, '0'))::bit(32)::int AS e
       ) AS h`,
      [date, rowsPerDay(params)],
    );
    return rowCount;
  },
});
