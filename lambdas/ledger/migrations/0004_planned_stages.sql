-- Stage graphs: a planned date reruns a set of stages, which need not be everything after its
-- start stage. Plans stored before this column hold NULL there and rerun from start_stage on.
ALTER TABLE hindsight_backfill_plans ADD COLUMN stages JSONB;
