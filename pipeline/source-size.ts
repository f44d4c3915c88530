import { InvalidInputError, type PipelineParams } from 'hindsight';

/** Orders the example source delivers per day when `rowsPerDay` is not set. */
export const DEFAULT_ROWS_PER_DAY = 1_000;

/**
 * The example source's size: the `rowsPerDay` parameter (`--param rowsPerDay=N`, or
 * `hindsight:params` in cdk.json). It changes volume, not what any stage computes.
 */
export function rowsPerDay(params: PipelineParams): number {
  const raw = params.rowsPerDay;
  if (raw === undefined) return DEFAULT_ROWS_PER_DAY;
  const rows = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(rows) || rows < 1 || rows > 10_000_000) {
    throw InvalidInputError.of('params.rowsPerDay', raw, 'a whole number from 1 to 10000000');
  }
  return rows;
}
