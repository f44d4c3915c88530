import { defineTransition } from 'hindsight';

/**
 * Example — deleting rows of a table a stage no longer owns. transform v1 owns `rejected_orders`;
 * a v2 that drops it from `owns` would never delete the old rows, so the transition does, once
 * per date, before that date's rerun. (Listed only in tests, for a transform v2.)
 */
export const deleteRejectedOrders = defineTransition({
  id: '0002_delete_rejected_orders',
  stage: 'transform',
  toVersion: 2,
  description: 'Delete rejected_orders rows: transform v2 no longer owns that table.',
  apply: async ({ sql, date }) => {
    await sql.query('DELETE FROM rejected_orders WHERE day = $1::date', [date]);
  },
});
