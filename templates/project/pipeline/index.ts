/** What `hindsight:pipeline` in cdk.json names: the pipeline (and, once you have some, its transitions). */
export { pipeline } from './stages';
