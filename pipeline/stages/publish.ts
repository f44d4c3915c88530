import { defineStage } from 'hindsight';

/** The report people read: products ranked by their week, with the day's share and trend. */
export const publish = defineStage({
  name: 'publish',
  version: 1,
  lookbackDays: 0,
  owns: ['sales_report'],
  description: 'Rank products by 7-day revenue, with share of the day and trend.',
  run: async ({ sql, date }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO sales_report (day, product, rank, revenue_eur, revenue_7d_eur, share_of_day, trend)
       SELECT day, product,
              rank() OVER (ORDER BY revenue_7d_eur DESC, product),
              revenue_day_eur, revenue_7d_eur,
              CASE WHEN sum(revenue_day_eur) OVER () = 0 THEN 0
                   ELSE round(revenue_day_eur / sum(revenue_day_eur) OVER (), 4) END,
              CASE WHEN revenue_day_eur > avg_daily_eur * 1.1 THEN 'up'
                   WHEN revenue_day_eur < avg_daily_eur * 0.9 THEN 'down'
                   ELSE 'flat' END
       FROM rolling_sales
       WHERE day = $1::date`,
      [date],
    );
    return rowCount;
  },
});
