import { defineStage } from 'hindsight';

/** A source: the day's page events, generated deterministically from the date (a stand-in for a tracking export). */
export const webEvents = defineStage({
  name: 'web_events',
  version: 1,
  inputs: [],
  owns: ['web_events'],
  description: 'Page events of the day: views, carts and checkouts per visitor (deterministic source).',
  run: async ({ sql, date }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO web_events (day, visitor, seq, kind)
       SELECT $1::date, 'V' || v.i, e.j,
              CASE WHEN e.j = 1 THEN 'view'
                   WHEN ('x' || substr(md5($1::text || v.i || e.j), 1, 4))::bit(16)::int % 3 = 0 THEN 'checkout'
                   WHEN ('x' || substr(md5($1::text || v.i || e.j), 1, 4))::bit(16)::int % 3 = 1 THEN 'cart'
                   ELSE 'view' END
       FROM generate_series(1, 20 + ('x' || substr(md5($1::text), 1, 2))::bit(8)::int % 10) AS v(i)
       CROSS JOIN LATERAL generate_series(1, 1 + ('x' || substr(md5($1::text || v.i), 1, 2))::bit(8)::int % 4) AS e(j)`,
      [date],
    );
    return rowCount;
  },
});
