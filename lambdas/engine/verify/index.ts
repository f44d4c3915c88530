/**
 * Verification, in the order it happens: the input, the cells it covers (a seeded sample of dates,
 * fresh cells only), and what it found, put in words. The recomputation itself is I/O and lives in
 * lambdas/workflow/verify.ts.
 */
export {
  type CellToVerify,
  chooseCells,
  type SelectedDate,
  VERIFY_DEFAULT_DAYS,
  type VerifySample,
  type VerifySelection,
} from './cells';
export {
  type CellOutcome,
  type CellVerdict,
  type DateVerification,
  differingTables,
  type FormatVerifyOptions,
  formatVerifyReport,
  foundDifferences,
  type NotVerifiedCell,
  type TableComparison,
  type VerifyReport,
  type VerifyTotals,
  verifyTotals,
} from './report';
export { sampleDates, seededRandom } from './sample';
export { parseVerifyInput, SEED, SEED_FORM, type VerifyRequest, VerifyRequestSchema } from './verify-input';
