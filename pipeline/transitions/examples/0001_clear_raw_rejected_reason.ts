import { defineTransition } from 'hindsight';

/**
 * Example — clearing one column before the rerun. transform v1 marks every raw delivery it does
 * not keep with `raw_orders.rejected_reason`; a v2 that stops doing so leaves the old marks on
 * rows it does not own. Clearing the column for the date makes the past look as if v2 had always
 * run. (Listed only in tests, for a transform v2; copy it into the list when you make that change.)
 */
export const clearRawRejectedReason = defineTransition({
  id: '0001_clear_raw_rejected_reason',
  stage: 'transform',
  toVersion: 2,
  description: 'Clear raw_orders.rejected_reason: transform v2 no longer marks raw deliveries.',
  apply: async ({ sql, date }) => {
    await sql.query('UPDATE raw_orders SET rejected_reason = NULL WHERE day = $1::date', [date]);
  },
});
