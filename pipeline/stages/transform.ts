import { defineStage } from 'hindsight';

/**
 * Cleans the day's orders: keeps the latest delivery of each order, normalises currency to EUR and
 * keeps paid, valid orders. Every raw delivery it does not keep is marked with the reason in
 * `raw_orders.rejected_reason` and listed in `rejected_orders`.
 */
export const transform = defineStage({
  name: 'transform',
  version: 1,
  lookbackDays: 0,
  owns: ['clean_orders', 'rejected_orders'],
  // It marks ingest's raw rows too: `hindsight verify` leaves that column out of ingest's rows.
  annotates: { raw_orders: ['rejected_reason'] },
  description: 'Deduplicate, normalise to EUR and keep paid, valid orders; record why the rest was rejected.',
  run: async ({ sql, date }) => {
    // Why each delivery is not kept (NULL when it is): the annotation lives on the raw row.
    await sql.query(
      `UPDATE raw_orders AS r SET rejected_reason = verdict.reason
       FROM (
         SELECT order_id, created_at,
                CASE WHEN row_number() OVER (PARTITION BY order_id ORDER BY created_at DESC) > 1 THEN 'superseded'
                     WHEN lower(status) <> 'paid' THEN lower(status)
                     WHEN quantity <= 0 THEN 'invalid quantity'
                     WHEN customer_id IS NULL THEN 'no customer'
                     WHEN upper(trim(currency)) NOT IN ('EUR', 'USD', 'GBP') THEN 'unknown currency'
                END AS reason
         FROM raw_orders
         WHERE day = $1::date
       ) AS verdict
       WHERE r.day = $1::date AND r.order_id = verdict.order_id AND r.created_at = verdict.created_at`,
      [date],
    );
    await sql.query(
      `INSERT INTO rejected_orders (day, order_id, created_at, reason)
       SELECT day, order_id, created_at, rejected_reason FROM raw_orders
       WHERE day = $1::date AND rejected_reason IS NOT NULL`,
      [date],
    );
    const { rowCount } = await sql.query(
      `INSERT INTO clean_orders (day, order_id, customer_id, product, quantity, unit_price_eur, amount_eur)
       SELECT r.day, r.order_id, r.customer_id, r.product, r.quantity,
              round(r.unit_price * fx.rate, 2), round(r.quantity * r.unit_price * fx.rate, 2)
       FROM raw_orders AS r
       JOIN (VALUES ('EUR', 1.00), ('USD', 0.92), ('GBP', 1.17)) AS fx (currency, rate)
         ON fx.currency = upper(trim(r.currency))
       WHERE r.day = $1::date AND r.rejected_reason IS NULL`,
      [date],
    );
    return rowCount;
  },
});
