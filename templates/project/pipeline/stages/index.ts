import { definePipeline } from 'hindsight';
import { pageViews } from './page_views';
import { views3d } from './views_3d';

/** The stages, every one after the stages it reads. Stage `x` lives in `x.ts` (the version guard finds it there). */
export const pipeline = definePipeline([pageViews, views3d]);
