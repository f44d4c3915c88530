-- The provenance ledger: what each (date, stage) output went through, written in the same
-- transaction as the data, so the plan can be computed from it alone.

-- Current state per (date, stage): the latest successful run.
CREATE TABLE hindsight_stage_state (
  day            DATE        NOT NULL,
  stage          TEXT        NOT NULL,
  version        INTEGER     NOT NULL,
  lineage        JSONB       NOT NULL,  -- {"ingest": 1, "transform": 2}: upstream versions as recorded
  input_run_ids  JSONB       NOT NULL,  -- {"2026-01-01": "<run id>", ...}: the inputs this run read
  run_id         UUID        NOT NULL,
  execution_id   TEXT,
  fence_token    BIGINT      NOT NULL,
  started_at     TIMESTAMPTZ NOT NULL,
  finished_at    TIMESTAMPTZ NOT NULL,
  rows_written   BIGINT      NOT NULL,
  PRIMARY KEY (day, stage)
);

-- Every successful run, append-only: the audit trail and the timestamps ordering tests read.
CREATE TABLE hindsight_run_history (
  run_id         UUID        PRIMARY KEY,
  day            DATE        NOT NULL,
  stage          TEXT        NOT NULL,
  version        INTEGER     NOT NULL,
  lineage        JSONB       NOT NULL,
  input_run_ids  JSONB       NOT NULL,
  execution_id   TEXT,
  fence_token    BIGINT      NOT NULL,
  started_at     TIMESTAMPTZ NOT NULL,
  finished_at    TIMESTAMPTZ NOT NULL,
  rows_written   BIGINT      NOT NULL
);
CREATE INDEX hindsight_run_history_finished ON hindsight_run_history (finished_at);

-- One-off per-date fixes (transitions), applied once per date.
CREATE TABLE hindsight_transitions_applied (
  transition_id  TEXT        NOT NULL,
  day            DATE        NOT NULL,
  stage          TEXT        NOT NULL,
  target_version INTEGER     NOT NULL,
  execution_id   TEXT,
  applied_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (transition_id, day)
);

-- The fencing token: every stage transaction checks and advances it, so a holder whose lease
-- was taken over can never commit.
CREATE TABLE hindsight_fence (
  id     SMALLINT PRIMARY KEY CHECK (id = 1),
  token  BIGINT   NOT NULL
);
INSERT INTO hindsight_fence (id, token) VALUES (1, 0);
