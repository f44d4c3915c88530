import { defineStage } from '../engine/stage';

/** Cleans the day's orders: keeps the latest delivery of each order, normalises currency to EUR, drops what is not a paid, valid order. */
export const transform = defineStage({
  name: 'transform',
  version: 1,
  lookbackDays: 0,
  owns: ['clean_orders'],
  description: 'Deduplicate, normalise to EUR and keep paid, valid orders.',
  run: async ({ sql, date }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO clean_orders (day, order_id, customer_id, product, quantity, unit_price_eur, amount_eur)
       SELECT latest.day, latest.order_id, latest.customer_id, latest.product, latest.quantity,
              round(latest.unit_price * fx.rate, 2), round(latest.quantity * latest.unit_price * fx.rate, 2)
       FROM (
         SELECT DISTINCT ON (order_id) day, order_id, customer_id, product, quantity, unit_price,
                upper(trim(currency)) AS currency, lower(status) AS status
         FROM raw_orders
         WHERE day = $1::date
         ORDER BY order_id, created_at DESC
       ) AS latest
       JOIN (VALUES ('EUR', 1.00), ('USD', 0.92), ('GBP', 1.17)) AS fx (currency, rate) ON fx.currency = latest.currency
       WHERE latest.status = 'paid' AND latest.quantity > 0 AND latest.customer_id IS NOT NULL`,
      [date],
    );
    return rowCount;
  },
});
