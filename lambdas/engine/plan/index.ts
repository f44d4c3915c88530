/**
 * Planning, in the order it happens: staleness (what the ledger says against the code), the
 * backfill input, the plan, the earlier dates a daily run reads, what stays stale after a run or a
 * plan, and how a plan is put in words.
 */

export {
  type BackfillMode,
  type BackfillRequest,
  BackfillRequestSchema,
  type ParsedBackfillInput,
  parseBackfillInput,
} from './backfill-input';
export {
  type DependencyConflict,
  dependencyConflicts,
  dependencyReach,
  dependencyReadRange,
  dependencyWindow,
} from './earlier-dates';
export {
  describeReason,
  formatDependencyConflicts,
  formatPlan,
  planToJson,
} from './explain';
export {
  type BackfillPlan,
  type PlanBackfillRequest,
  type PlannedDate,
  planBackfill,
} from './plan-backfill';
export {
  assessDate,
  assessRange,
  type CellState,
  cellState,
  type DateAssessment,
  type DateStatus,
  type InputChange,
  indexLedger,
  type LedgerIndex,
  type PlanReason,
  type StalenessOptions,
  type StaleReason,
  staleness,
  type VersionChange,
} from './staleness';
export {
  ledgerAfterPlan,
  type StillStale,
  type StillStaleDate,
  type StillStaleOptions,
  stillStale,
} from './still-stale';
