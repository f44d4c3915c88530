-- transform (v1) keeps the orders it rejects, and marks each raw delivery it did not keep with
-- the reason. The example transitions in lambdas/transitions/examples/ show how a later version
-- that stops doing either cleans up the past.
CREATE TABLE rejected_orders (
  day          DATE      NOT NULL,
  order_id     TEXT      NOT NULL,
  created_at   TIMESTAMP NOT NULL,
  reason       TEXT      NOT NULL,
  PRIMARY KEY (day, order_id, created_at)
);

ALTER TABLE raw_orders ADD COLUMN rejected_reason TEXT;
