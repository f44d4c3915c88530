-- The shop example: two sources (web events, orders), sessions built from events, then three
-- outputs: daily active users over 28 days, revenue by country, and conversion (sessions + orders).
CREATE TABLE web_events (
  day      DATE    NOT NULL,
  visitor  TEXT    NOT NULL,
  seq      INTEGER NOT NULL,
  kind     TEXT    NOT NULL CHECK (kind IN ('view', 'cart', 'checkout')),
  PRIMARY KEY (day, visitor, seq)
);

CREATE TABLE orders (
  day          DATE    NOT NULL,
  order_id     TEXT    NOT NULL,
  visitor      TEXT    NOT NULL,
  country      TEXT    NOT NULL,
  amount_cents INTEGER NOT NULL,
  PRIMARY KEY (day, order_id)
);

CREATE TABLE sessions (
  day               DATE    NOT NULL,
  visitor           TEXT    NOT NULL,
  events            INTEGER NOT NULL,
  reached_checkout  BOOLEAN NOT NULL,
  PRIMARY KEY (day, visitor)
);

CREATE TABLE daily_active_users (
  day             DATE    NOT NULL,
  days_in_window  INTEGER NOT NULL,
  active_users    INTEGER NOT NULL,
  PRIMARY KEY (day)
);

CREATE TABLE revenue_by_country (
  day            DATE    NOT NULL,
  country        TEXT    NOT NULL,
  orders         INTEGER NOT NULL,
  revenue_cents  BIGINT  NOT NULL,
  PRIMARY KEY (day, country)
);

CREATE TABLE conversion (
  day        DATE          NOT NULL,
  sessions   INTEGER       NOT NULL,
  buyers     INTEGER       NOT NULL,
  rate       NUMERIC(6, 4) NOT NULL,
  PRIMARY KEY (day)
);
