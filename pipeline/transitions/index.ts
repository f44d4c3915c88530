/**
 * THE TRANSITIONS: one-off per-date fixes, in id order, kept like migrations. Write one with
 * `npm run hindsight -- transition new NAME --stage STAGE`, which adds a file here and lists it
 * below; the backfill applies it to every date it reruns from that stage, exactly once per date.
 * Examples of what they are for are in `examples/` (they are not listed, so they never run here).
 */
import { defineTransitions } from 'hindsight';
import { pipeline } from '../stages';

export const transitions = defineTransitions(pipeline, [
  // hindsight: transitions (new ones are inserted above this line)
]);
