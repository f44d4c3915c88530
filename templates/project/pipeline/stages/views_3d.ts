import { defineStage } from 'hindsight';

/** Reads page_views over the three days ending on the date: [windowStarts.page_views, date]. */
export const views3d = defineStage({
  name: 'views_3d',
  version: 1,
  inputs: [{ stage: 'page_views', lookbackDays: 2 }],
  owns: ['page_views_3d'],
  description: 'Views per page over the three days ending on the date.',
  run: async ({ sql, date, windowStarts }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO page_views_3d (day, page, views)
       SELECT $1::date, page, sum(views) FROM page_views
       WHERE day BETWEEN $2::date AND $1::date GROUP BY page`,
      [date, windowStarts.page_views],
    );
    return rowCount;
  },
});
