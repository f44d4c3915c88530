import { defineStage } from 'hindsight';

/** Daily figures per product. */
export const aggregate = defineStage({
  name: 'aggregate',
  version: 1,
  lookbackDays: 0,
  owns: ['daily_sales'],
  description: 'Daily orders, units, customers and revenue per product.',
  run: async ({ sql, date }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO daily_sales (day, product, orders, units, customers, revenue_eur)
       SELECT day, product, count(*), sum(quantity), count(DISTINCT customer_id), sum(amount_eur)
       FROM clean_orders
       WHERE day = $1::date
       GROUP BY day, product`,
      [date],
    );
    return rowCount;
  },
});
