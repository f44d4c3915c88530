/**
 * The orders example: what `hindsight:pipeline` in cdk.json points at. A pipeline module exports
 * the ordered stage list and, when it has any, the transitions.
 */
export { pipeline } from './stages';
export { transitions } from './transitions';
