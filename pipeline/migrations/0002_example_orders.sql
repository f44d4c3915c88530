-- Tables of the example pipeline (lambdas/stages/). Every stage-owned table has a `day`
-- column: the runner replaces a stage's rows for the date by `DELETE ... WHERE day = $1`.

-- ingest: the source system's orders as delivered, duplicates and dirt included.
CREATE TABLE raw_orders (
  day          DATE          NOT NULL,
  order_id     TEXT          NOT NULL,
  customer_id  TEXT,
  product      TEXT          NOT NULL,
  quantity     INTEGER       NOT NULL,
  unit_price   NUMERIC(12,2) NOT NULL,
  currency     TEXT          NOT NULL,
  status       TEXT          NOT NULL,
  created_at   TIMESTAMP     NOT NULL
);
CREATE INDEX raw_orders_day ON raw_orders (day);

-- transform: one row per real order, in EUR, without cancelled or invalid ones.
CREATE TABLE clean_orders (
  day            DATE          NOT NULL,
  order_id       TEXT          NOT NULL,
  customer_id    TEXT          NOT NULL,
  product        TEXT          NOT NULL,
  quantity       INTEGER       NOT NULL,
  unit_price_eur NUMERIC(12,2) NOT NULL,
  amount_eur     NUMERIC(14,2) NOT NULL,
  PRIMARY KEY (day, order_id)
);

-- aggregate: daily figures per product.
CREATE TABLE daily_sales (
  day          DATE          NOT NULL,
  product      TEXT          NOT NULL,
  orders       INTEGER       NOT NULL,
  units        INTEGER       NOT NULL,
  customers    INTEGER       NOT NULL,
  revenue_eur  NUMERIC(14,2) NOT NULL,
  PRIMARY KEY (day, product)
);

-- rolling: 7-day window per product, ending on the day.
CREATE TABLE rolling_sales (
  day             DATE          NOT NULL,
  product         TEXT          NOT NULL,
  days_in_window  INTEGER       NOT NULL,
  revenue_day_eur NUMERIC(14,2) NOT NULL,
  orders_7d       INTEGER       NOT NULL,
  revenue_7d_eur  NUMERIC(14,2) NOT NULL,
  avg_daily_eur   NUMERIC(14,2) NOT NULL,
  PRIMARY KEY (day, product)
);

-- publish: the report people read.
CREATE TABLE sales_report (
  day             DATE          NOT NULL,
  product         TEXT          NOT NULL,
  rank            INTEGER       NOT NULL,
  revenue_eur     NUMERIC(14,2) NOT NULL,
  revenue_7d_eur  NUMERIC(14,2) NOT NULL,
  share_of_day    NUMERIC(7,4)  NOT NULL,
  trend           TEXT          NOT NULL,
  PRIMARY KEY (day, product)
);
