-- The dates the daily workflow was started for. A date whose daily run wrote nothing (it gave up
-- waiting for the lease, or was refused because earlier dates were stale) is still due: the auto
-- plan reaches it as missing, so {"mode": "auto"} runs it in order, with nothing to remember.
CREATE TABLE hindsight_due_dates (
  day          DATE        PRIMARY KEY,
  first_due_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
