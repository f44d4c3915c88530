import { defineStage } from 'hindsight';

/** A source: the day's orders, generated deterministically from the date (a stand-in for the shop's database). */
export const orders = defineStage({
  name: 'orders',
  version: 1,
  inputs: [],
  owns: ['orders'],
  description: 'Orders of the day with their visitor, country and amount (deterministic source).',
  run: async ({ sql, date }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO orders (day, order_id, visitor, country, amount_cents)
       SELECT $1::date, to_char($1::date, 'YYYYMMDD') || '-' || g.i,
              'V' || (1 + ('x' || substr(md5($1::text || 'o' || g.i), 1, 2))::bit(8)::int % 25),
              (ARRAY['DE', 'FR', 'NL', 'PL'])[1 + ('x' || substr(md5($1::text || 'c' || g.i), 1, 2))::bit(8)::int % 4],
              500 + ('x' || substr(md5($1::text || 'a' || g.i), 1, 4))::bit(16)::int % 9500
       FROM generate_series(1, 5 + ('x' || substr(md5($1::text || 'n'), 1, 2))::bit(8)::int % 6) AS g(i)`,
      [date],
    );
    return rowCount;
  },
});
