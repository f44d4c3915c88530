/**
 * The shop example: a pipeline shaped as a graph, not a chain. Two sources branch and join:
 *
 *   web_events ─▶ sessions ─┬─▶ daily_active_users (28-day window over sessions)
 *                           └─▶ conversion ◀─┐
 *   orders ─────────────────┬────────────────┘
 *                           └─▶ revenue_by_country
 *
 * Select it with `"hindsight:pipeline": "examples/shop/index.ts"` and
 * `"hindsight:migrations": "examples/shop/migrations"` in cdk.json.
 */
import { definePipeline } from 'hindsight';
import { stages } from './stages';

export const pipeline = definePipeline(stages);
