import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dateRange } from '../../lambdas/engine/dates';
import { MigrationChangedError } from '../../lambdas/engine/errors';
import { assessRange, indexLedger } from '../../lambdas/engine/plan/staleness';
import type { SqlClient } from '../../lambdas/engine/sql';
import { splitSqlStatements } from '../../lambdas/engine/sql-script';
import { readBackfillPlan } from '../../lambdas/ledger/backfill-plans';
import { readLedger } from '../../lambdas/ledger/ledger-store';
import {
  frameworkMigrationsDirectory,
  loadMigrations,
  MIGRATION_SEQUENCES,
  type Migration,
  migrate,
  toMigration,
} from '../../lambdas/ledger/migrator';
import { runStage } from '../../lambdas/workflow/stage-runner';
import { pipeline } from '../fixtures/pipelines/meters';
import { databaseKinds, dumpTables } from '../support/databases';
import { METERS } from '../support/fixture-pipelines';
import { publicTables } from '../support/state-checksum';

const FRAMEWORK = MIGRATION_SEQUENCES.framework.table;
const PIPELINE = MIGRATION_SEQUENCES.pipeline.table;

async function recorded(sql: SqlClient, table: string): Promise<Array<{ id: string; checksum: string }>> {
  const { rows } = await sql.query<{ id: string; checksum: string }>(
    `SELECT id, checksum FROM ${table} ORDER BY applied_at, id`,
  );
  return rows.map(({ id, checksum }) => ({ id, checksum }));
}

async function tableExists(sql: SqlClient, name: string): Promise<boolean> {
  const { rows } = await sql.query('SELECT 1 FROM information_schema.tables WHERE table_name = $1', [name]);
  return rows.length > 0;
}

describe.each(databaseKinds())('Function: migrate on $name', (kind) => {
  it('applies every migration once, in order, Hindsight’s own sequence first, and records each in its sequence', async () => {
    const sql = await kind.open({ migrated: false });
    try {
      const framework = loadMigrations(frameworkMigrationsDirectory());
      const migrations = loadMigrations(METERS.migrationsDirectory);
      const first = await migrate(sql, migrations);
      const second = await migrate(sql, migrations);
      expect(first.applied).toEqual([
        ...framework.map((migration) => `hindsight/${migration.id}`),
        ...migrations.map((migration) => migration.id),
      ]);
      expect(first.applied).toEqual([
        'hindsight/0001_ledger',
        'hindsight/0002_backfill_plans',
        'hindsight/0003_due_dates',
        'hindsight/0004_planned_stages',
        '0001_meters',
      ]);
      expect(second).toEqual({ applied: [], alreadyApplied: framework.length + migrations.length });
      expect(await recorded(sql, FRAMEWORK)).toEqual(framework.map(({ id, checksum }) => ({ id, checksum })));
      expect(await recorded(sql, PIPELINE)).toEqual(migrations.map(({ id, checksum }) => ({ id, checksum })));
    } finally {
      await sql.close();
    }
  });

  it('refuses a migration whose file changed after it was applied, applying nothing', async () => {
    const sql = await kind.open({ migrated: false });
    try {
      const original = [toMigration('0001_people', 'CREATE TABLE people (id INT);')];
      await migrate(sql, original);
      const changed = [
        toMigration('0001_people', 'CREATE TABLE people (id BIGINT);'),
        toMigration('0002_pets', 'CREATE TABLE pets (id INT);'),
      ];
      const attempt = migrate(sql, changed);
      await expect(attempt).rejects.toThrow(MigrationChangedError);
      await expect(attempt).rejects.toThrow(
        /Migration 0001_people changed after it was applied .*put the change in a new migration/,
      );
      expect(await tableExists(sql, 'pets')).toBe(false);
    } finally {
      await sql.close();
    }
  });

  it('refuses a changed or missing migration of Hindsight’s own, naming it, before applying anything of either sequence', async () => {
    const sql = await kind.open({ migrated: false });
    try {
      const framework = loadMigrations(frameworkMigrationsDirectory());
      await migrate(sql, [], framework);
      const before = await recorded(sql, FRAMEWORK);
      const pets = [toMigration('0001_pets', 'CREATE TABLE pets (id INT);')];
      const rewritten = framework.map((migration) =>
        migration.id === '0002_backfill_plans'
          ? toMigration(migration.id, `${migration.sql}\n-- edited after it was applied\n`)
          : migration,
      );
      const withoutDueDates = framework.filter((migration) => migration.id !== '0003_due_dates');

      const changed = migrate(sql, pets, rewritten);
      await expect(changed).rejects.toThrow(MigrationChangedError);
      await expect(changed).rejects.toThrow(
        /Hindsight's own migration 0002_backfill_plans changed after it was applied .*put the change in a new migration/,
      );
      const missing = migrate(sql, pets, withoutDueDates);
      await expect(missing).rejects.toThrow(MigrationChangedError);
      await expect(missing).rejects.toThrow(
        "Hindsight's own migration 0003_due_dates was applied to this database but its file is gone; restore 0003_due_dates.sql (or, if this database belongs to another pipeline, use a new one: locally, another --data-dir).",
      );

      expect(await tableExists(sql, 'pets')).toBe(false);
      expect(await recorded(sql, FRAMEWORK)).toEqual(before);
      expect(await recorded(sql, PIPELINE)).toEqual([]);
    } finally {
      await sql.close();
    }
  });

  it('refuses a pipeline migration whose file is gone, naming it', async () => {
    const sql = await kind.open({ migrated: false });
    try {
      await migrate(sql, [
        toMigration('0001_people', 'CREATE TABLE people (id INT);'),
        toMigration('0002_pets', 'CREATE TABLE pets (id INT);'),
      ]);
      const attempt = migrate(sql, [
        toMigration('0001_people', 'CREATE TABLE people (id INT);'),
        toMigration('0003_toys', 'CREATE TABLE toys (id INT);'),
      ]);
      await expect(attempt).rejects.toThrow(MigrationChangedError);
      await expect(attempt).rejects.toThrow(
        'Migration 0002_pets was applied to this database but its file is gone; restore 0002_pets.sql ' +
          '(or, if this database belongs to another pipeline, use a new one: locally, another --data-dir).',
      );
      expect(await tableExists(sql, 'toys')).toBe(false);
    } finally {
      await sql.close();
    }
  });

  it('rolls back a migration that fails half way, leaving it pending', async () => {
    const sql = await kind.open({ migrated: false });
    try {
      const broken = [
        toMigration('0001_half', 'CREATE TABLE half (id INT); INSERT INTO nowhere VALUES (1);'),
      ];
      await expect(migrate(sql, broken)).rejects.toThrow(/nowhere/);
      expect(await tableExists(sql, 'half')).toBe(false);
      expect(await recorded(sql, PIPELINE)).toEqual([]);
    } finally {
      await sql.close();
    }
  });

  it('upgrades a database migrated by Hindsight 0.1 (one shared sequence) and loses nothing', async () => {
    // Hindsight 0.1 numbered its own migrations and the pipeline's in one sequence, recorded in
    // hindsight_schema_migrations: a team's pipeline migrations sat between Hindsight's.
    const pipelineDirectory = mkdtempSync(join(tmpdir(), 'hindsight-legacy-migrations-'));
    const sql = await kind.open({ migrated: false });
    try {
      const teamFiles: Record<string, string> = {
        '0002_meters': readFileSync(join(METERS.migrationsDirectory, '0001_meters.sql'), 'utf8'),
        '0003_meter_notes': 'CREATE TABLE meter_notes (day DATE NOT NULL, note TEXT NOT NULL);\n',
      };
      for (const [id, text] of Object.entries(teamFiles))
        writeFileSync(join(pipelineDirectory, `${id}.sql`), text);
      const framework = new Map(loadMigrations(frameworkMigrationsDirectory()).map((m) => [m.id, m]));
      const frameworkFile = (id: string): string => {
        const migration = framework.get(id);
        if (!migration) throw new Error(`No framework migration ${id}`);
        return migration.sql;
      };
      const legacy: Migration[] = [
        toMigration('0001_ledger', frameworkFile('0001_ledger')),
        toMigration('0002_meters', teamFiles['0002_meters']),
        toMigration('0003_meter_notes', teamFiles['0003_meter_notes']),
        toMigration('0004_backfill_plans', frameworkFile('0002_backfill_plans')),
        toMigration('0005_due_dates', frameworkFile('0003_due_dates')),
      ];

      // Prepare: the 0.1 layout, by hand, in the 0.1 order.
      await sql.query(
        `CREATE TABLE ${PIPELINE} (id TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
      );
      for (const migration of legacy) {
        await sql.transaction(async (tx) => {
          for (const statement of splitSqlStatements(migration.sql)) await tx.query(statement);
          await tx.query(`INSERT INTO ${PIPELINE} (id, checksum) VALUES ($1, $2)`, [
            migration.id,
            migration.checksum,
          ]);
        });
      }
      // ... and rows in every kind of table: the pipeline's, the ledger, the history, the fence,
      // a stored backfill plan, a due date, an applied transition, the team's own table.
      const dates = dateRange('2026-03-01', '2026-03-02');
      for (const date of dates)
        for (const stage of pipeline.names)
          await runStage(sql, pipeline, { stage, date, fenceToken: 3 }, { rowsPerDay: '40' });
      // 0.1 recorded each stage's input run ids as one flat date → run id map, and stored a
      // planned date as its start stage only.
      await sql.query(
        `UPDATE hindsight_stage_state AS s SET input_run_ids = COALESCE(
           (SELECT jsonb_object_agg(d.key, d.value) FROM jsonb_each(s.input_run_ids) AS i, jsonb_each(i.value) AS d),
           '{}'::jsonb)`,
      );
      await sql.query(
        `INSERT INTO hindsight_backfill_plans (execution_id, position, day, start_stage)
         VALUES ('arn:legacy-backfill', 0, '2026-03-01', 'validate')`,
      );
      await sql.query("INSERT INTO hindsight_due_dates (day) VALUES ('2026-03-03')");
      await sql.query(
        `INSERT INTO hindsight_transitions_applied (transition_id, day, stage, target_version)
         VALUES ('0001_delete_rejected_readings', '2026-03-01', 'validate', 2)`,
      );
      await sql.query("INSERT INTO meter_notes (day, note) VALUES ('2026-03-01', 'meter M07 replaced')");
      const records: string[] = [FRAMEWORK, PIPELINE];
      const dataTables = (await publicTables(sql)).filter((table) => !records.includes(table));
      const rowsBefore = await dumpTables(sql, dataTables);
      const { rows: legacyRecords } = await sql.query<{ id: string; checksum: string; applied_at: unknown }>(
        `SELECT id, checksum, applied_at FROM ${PIPELINE} ORDER BY id`,
      );
      expect(legacyRecords.map((row) => row.id)).toEqual(legacy.map((migration) => migration.id));
      for (const table of [...pipeline.stages.flatMap((stage) => stage.owns), 'meter_notes'])
        expect(rowsBefore[table].length).toBeGreaterThan(0);
      for (const table of [
        'hindsight_stage_state',
        'hindsight_run_history',
        'hindsight_fence',
        'hindsight_backfill_plans',
        'hindsight_due_dates',
        'hindsight_transitions_applied',
      ])
        expect(rowsBefore[table].length).toBeGreaterThan(0);

      // Act
      const pipelineMigrations = loadMigrations(pipelineDirectory);
      const report = await migrate(sql, pipelineMigrations);

      // Assess: only what 0.1 did not have applied (the planned stage sets); Hindsight's records
      // moved to its own sequence under the new ids; the team's stayed as they were; every row is
      // still there, the stored plan's with no stage set (it reruns from its start stage on).
      expect(report).toEqual({ applied: ['hindsight/0004_planned_stages'], alreadyApplied: 5 });
      expect(await recorded(sql, FRAMEWORK)).toEqual(
        ['0001_ledger', '0002_backfill_plans', '0003_due_dates', '0004_planned_stages'].map((id) => ({
          id,
          checksum: framework.get(id)?.checksum,
        })),
      );
      const { rows: teamRecords } = await sql.query(
        `SELECT id, checksum, applied_at FROM ${PIPELINE} ORDER BY id`,
      );
      expect(teamRecords).toEqual(legacyRecords.filter((row) => row.id in teamFiles));
      expect(pipelineMigrations.map(({ id, checksum }) => ({ id, checksum }))).toEqual(
        await recorded(sql, PIPELINE),
      );
      expect((await publicTables(sql)).filter((table) => !records.includes(table))).toEqual(dataTables);
      const rowsAfter = await dumpTables(sql, dataTables);
      expect(rowsAfter).toEqual({
        ...rowsBefore,
        hindsight_backfill_plans: rowsBefore.hindsight_backfill_plans.map((row) =>
          JSON.stringify({ ...JSON.parse(row as string), stages: null }),
        ),
      });
      expect(await readBackfillPlan(sql, 'arn:legacy-backfill')).toEqual([
        { position: 0, date: '2026-03-01', startStage: 'validate', stages: null },
      ]);

      // A second migrate is a no-op.
      const frameworkRecords = await sql.query(`SELECT * FROM ${FRAMEWORK} ORDER BY id`);
      expect(await migrate(sql, pipelineMigrations)).toEqual({ applied: [], alreadyApplied: 6 });
      expect((await sql.query(`SELECT * FROM ${FRAMEWORK} ORDER BY id`)).rows).toEqual(frameworkRecords.rows);
      expect((await sql.query(`SELECT id, checksum, applied_at FROM ${PIPELINE} ORDER BY id`)).rows).toEqual(
        teamRecords,
      );
      expect(await dumpTables(sql, dataTables)).toEqual(rowsAfter);

      // And the upgraded database runs on: the next date's stages commit on top of the old ledger.
      for (const stage of pipeline.names)
        await runStage(sql, pipeline, { stage, date: '2026-03-03', fenceToken: 4 }, { rowsPerDay: '40' });
      // The 0.1 ledger rows read as their stage's input's: every date is fresh, nothing to backfill.
      const statuses = assessRange(indexLedger(pipeline, await readLedger(sql)), '2026-03-01', '2026-03-03');
      expect(statuses.map((status) => status.stages)).toEqual([[], [], []]);
    } finally {
      await sql.close();
      rmSync(pipelineDirectory, { recursive: true, force: true });
    }
  });
});
