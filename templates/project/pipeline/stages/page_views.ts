import { defineStage } from 'hindsight';

/**
 * A source: it reads no stage. Here the day's page views are generated from the date, so every
 * run of a date gives the same rows; a real source copies them from where the day's data lands.
 */
export const pageViews = defineStage({
  name: 'page_views',
  version: 1,
  inputs: [],
  owns: ['page_views'],
  description: 'Page views of the day.',
  run: async ({ sql, date }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO page_views (day, page, views)
       SELECT $1::date, 'page-' || g.i, 1 + ('x' || substr(md5($1::text || g.i), 1, 6))::bit(24)::int % 50
       FROM generate_series(1, 20) AS g(i)`,
      [date],
    );
    return rowCount;
  },
});
