import { defineStage } from 'hindsight';

/** A 7-day window per product ending on the date: reads six earlier dates, so dates must run in order. */
export const rolling = defineStage({
  name: 'rolling',
  version: 1,
  lookbackDays: 6,
  owns: ['rolling_sales'],
  description: 'Seven-day revenue and orders per product, ending on the date.',
  run: async ({ sql, date, windowStart }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO rolling_sales (day, product, days_in_window, revenue_day_eur, orders_7d, revenue_7d_eur, avg_daily_eur)
       SELECT $1::date, product, count(DISTINCT day),
              COALESCE(sum(revenue_eur) FILTER (WHERE day = $1::date), 0),
              sum(orders), sum(revenue_eur), round(sum(revenue_eur) / 7, 2)
       FROM daily_sales
       WHERE day BETWEEN $2::date AND $1::date
       GROUP BY product`,
      [date, windowStart],
    );
    return rowCount;
  },
});
