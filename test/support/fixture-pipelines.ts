/**
 * The fixture pipelines the framework's tests run, so they hold whatever a team puts in
 * `pipeline/`: where each one's module and migrations are, as `hindsight:pipeline` and
 * `hindsight:migrations` would name them.
 */
import { join } from 'node:path';
import type { PipelineSource } from '../../lib/project';

const FIXTURES = join(__dirname, '..', 'fixtures', 'pipelines');

function fixture(name: string): PipelineSource {
  return { entry: join(FIXTURES, name, 'index.ts'), migrationsDirectory: join(FIXTURES, name, 'migrations') };
}

/** Five stages in a chain (collect → validate → summarize → trend, 7-day window → report). */
export const METERS = fixture('meters');
/** Three stages (page_views → daily_visitors → visitor_window, 3-day window), stages in one module. */
export const VISITS = fixture('visits');
/**
 * The shop example, a graph: web_events → sessions → daily_active_users (28 days) and conversion;
 * orders → revenue_by_country and conversion. Kept in `examples/shop`, as a team would keep it.
 */
export const SHOP: PipelineSource = {
  entry: join(__dirname, '..', '..', 'examples', 'shop', 'index.ts'),
  migrationsDirectory: join(__dirname, '..', '..', 'examples', 'shop', 'migrations'),
};
