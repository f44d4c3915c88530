/**
 * Planning, in the order it happens: staleness (what the ledger says against the code), the
 * backfill input, the plan, the earlier dates a daily run reads, and how a plan is shown.
 */
export * from './backfill-input';
export * from './earlier-dates';
export * from './explain';
export * from './plan-backfill';
export * from './staleness';
