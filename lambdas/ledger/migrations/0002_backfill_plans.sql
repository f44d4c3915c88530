-- The dates each backfill execution planned, in order. The backfill's Distributed Map iterates
-- over positions only and "Prepare Date" reads its date here, so a plan of any length stays far
-- under Step Functions' 256 KiB limit on a state's data (a whole plan of ten years is ~300 KiB).
CREATE TABLE hindsight_backfill_plans (
  execution_id TEXT        NOT NULL,
  position     INTEGER     NOT NULL,
  day          DATE        NOT NULL,
  start_stage  TEXT        NOT NULL,
  planned_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (execution_id, position)
);
CREATE INDEX hindsight_backfill_plans_planned_at ON hindsight_backfill_plans (planned_at);
