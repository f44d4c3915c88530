import { defineStage } from 'hindsight';

/** The day's orders and revenue per country. */
export const revenueByCountry = defineStage({
  name: 'revenue_by_country',
  version: 1,
  inputs: ['orders'],
  owns: ['revenue_by_country'],
  description: 'Orders and revenue of the day per country.',
  run: async ({ sql, date }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO revenue_by_country (day, country, orders, revenue_cents)
       SELECT day, country, count(*), sum(amount_cents)
       FROM orders WHERE day = $1::date GROUP BY day, country`,
      [date],
    );
    return rowCount;
  },
});
