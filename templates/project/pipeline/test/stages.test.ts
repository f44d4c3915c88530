/** The stages on an in-memory embedded PostgreSQL, run as a run runs them (`npm test`). */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openTestDatabase, type TestDatabase } from 'hindsight/testing';
import { pipeline } from '../index';

describe('the pipeline', () => {
  let db: TestDatabase;
  before(async () => {
    db = await openTestDatabase({ pipeline, migrations: join(__dirname, '..', 'migrations') });
  });
  after(() => db.close());

  it("views_3d sums each page's views over the three days ending on the date", async () => {
    await db.runStages(['2026-01-01', '2026-01-02', '2026-01-03']);

    const [stored] = await db.query<{ views: number }>(
      `SELECT views FROM page_views_3d WHERE day = '2026-01-03' AND page = 'page-1'`,
    );
    const [summed] = await db.query<{ views: number }>(
      `SELECT sum(views)::int AS views FROM page_views WHERE page = 'page-1'`,
    );
    assert.equal(stored.views, summed.views);
  });

  it('gives the same rows when a date is run again', async () => {
    const before = await db.query(`SELECT * FROM page_views_3d WHERE day = '2026-01-03' ORDER BY page`);
    await db.runStages(['2026-01-03']);
    assert.deepEqual(
      await db.query(`SELECT * FROM page_views_3d WHERE day = '2026-01-03' ORDER BY page`),
      before,
    );
  });
});
