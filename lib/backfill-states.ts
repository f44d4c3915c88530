/**
 * The backfill workflow's state names, apart from the construct that builds it: the local
 * runtime's progress display reads them without loading aws-cdk-lib.
 */

/** State names of the backfill workflow that are not per stage (the stages' are `runStateName`). */
export const BACKFILL_STATES = {
  validateAndPlan: 'Validate And Plan',
  refuseInvalidInput: 'Refuse Invalid Input',
  dryRun: 'Dry Run?',
  showPlanOnly: 'Show Plan Only',
  anythingToDo: 'Anything To Do?',
  skipEmptyPlan: 'Skip Empty Plan',
  acquireLease: 'Acquire Lease',
  gaveUp: 'Gave Up Waiting For Lease',
  backfillEachDate: 'Backfill Each Date',
  prepareDate: 'Prepare Date',
  failDate: 'Fail Date',
  finishDate: 'Finish Date',
  releaseLease: 'Release Lease',
  releaseAfterFailure: 'Release Lease After Failure',
  failBackfill: 'Fail Backfill',
  finish: 'Finish Backfill',
} as const;
