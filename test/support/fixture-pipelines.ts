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
