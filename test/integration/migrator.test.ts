import { MigrationChangedError } from '../../lambdas/engine/errors';
import {
  defaultMigrationsDirectory,
  loadMigrations,
  migrate,
  toMigration,
} from '../../lambdas/ledger/migrator';
import { databaseKinds } from '../support/databases';

describe.each(databaseKinds())('Function: migrate on $name', (kind) => {
  it('applies every migration once, in order, and records each', async () => {
    const sql = await kind.open({ migrated: false });
    try {
      const migrations = loadMigrations(defaultMigrationsDirectory());
      const first = await migrate(sql, migrations);
      const second = await migrate(sql, migrations);
      expect(first.applied).toEqual(migrations.map((migration) => migration.id));
      expect(second).toEqual({ applied: [], alreadyApplied: migrations.length });
      const { rows } = await sql.query<{ id: string }>(
        'SELECT id FROM hindsight_schema_migrations ORDER BY applied_at, id',
      );
      expect(rows.map((row) => row.id)).toEqual(first.applied);
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
      const { rows } = await sql.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'pets'");
      expect(rows).toHaveLength(0);
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
      const tables = await sql.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half'");
      expect(tables.rows).toHaveLength(0);
      const recorded = await sql.query('SELECT 1 FROM hindsight_schema_migrations');
      expect(recorded.rows).toHaveLength(0);
    } finally {
      await sql.close();
    }
  });
});
