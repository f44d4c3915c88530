/**
 * The database role the pipeline runs as. The master user migrates (it owns every table); the
 * stages, the ledger writes and every other step connect as this role, which may read and write
 * rows and nothing else: no CREATE, ALTER or DROP, no TRUNCATE, no write to the migration records.
 * The after-deploy function applies this after each migration, so a new migration's tables are
 * covered by the next deploy (and at once, by the default privileges, when the master creates them).
 */
import { HindsightError } from '../engine/errors';
import type { SqlClient, SqlExecutor } from '../engine/sql';
import { MIGRATION_SEQUENCES } from './migrator';

/** The role's name in the secret an owned cluster's stack generates for it. */
export const PIPELINE_ROLE_USERNAME = 'hindsight_pipeline';

/** A login, as a Secrets Manager database secret holds it (`username`, `password`). */
export interface DatabaseCredentials {
  readonly username: string;
  readonly password: string;
}

/** What `grantPipelineRole` did, for the after-deploy log. */
export interface PipelineRoleReport {
  readonly role: string;
  /** True when the role did not exist and was created. */
  readonly created: boolean;
  /** The schemas whose tables the role may read and write: those the master user can create tables in. */
  readonly schemas: readonly string[];
  /** How many tables and views of those schemas the role may write. */
  readonly tables: number;
  /**
   * Where the role can still create objects through a privilege of `PUBLIC` (the `public` schema
   * before PostgreSQL 15): empty on Aurora PostgreSQL 15 and later. Revoking it is the database
   * owner's call, since every role of the database has it; the after-deploy log says so.
   */
  readonly canCreateIn: readonly string[];
}

/** The pipeline role cannot be set up as asked; nothing was changed. */
export class PipelineRoleError extends HindsightError {}

/** Advisory lock held while the role is set up: two deploys never interleave their grants. */
const ROLE_LOCK_KEY = 7_143_520;

/** Lower-case PostgreSQL role names, which need no quoting (they are quoted anyway). */
const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The privileges the role gets on every table of its schemas: rows only. */
const TABLE_PRIVILEGES = 'SELECT, INSERT, UPDATE, DELETE';
/** On sequences: `nextval` and `currval` (serial columns), not `setval`. */
const SEQUENCE_PRIVILEGES = 'USAGE, SELECT';

/**
 * Creates the role `credentials.username` (or updates the one that exists) with LOGIN and the
 * secret's password, and grants it exactly row access: SELECT, INSERT, UPDATE and DELETE on every
 * table of every schema the connected (master) user can create tables in, USAGE on those schemas,
 * USAGE and SELECT on their sequences, the same by default on what the master creates there later,
 * TEMPORARY on the database (verify copies rows into a temporary table), and SELECT only on the
 * migration records. Earlier privileges of the role on those tables are replaced, so each deploy
 * leaves exactly these. One transaction: all of it, or nothing.
 *
 * Run it connected as the user that migrates, after `migrate`.
 */
export async function grantPipelineRole(
  sql: SqlClient,
  credentials: DatabaseCredentials,
): Promise<PipelineRoleReport> {
  const { username, password } = checkedCredentials(credentials);
  const role = quoteIdentifier(username);
  return sql.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [ROLE_LOCK_KEY]);
    const { rows: session } = await tx.query<{ user: string; database: string }>(
      'SELECT current_user AS "user", current_database() AS database',
    );
    const { user, database } = session[0] ?? { user: '', database: '' };
    if (user === username) {
      throw new PipelineRoleError(
        `Cannot set up the pipeline role: the pipeline secret names ${username}, the user that migrates. ` +
          'Give the pipeline a role of its own (another username in its secret).',
      );
    }

    const created = !(await roleExists(tx, username));
    if (!created) await refuseWiderRole(tx, username);
    // PostgreSQL hashes the password (password_encryption); it is sent as a literal because role
    // statements take no parameters.
    await tx.query(
      created
        ? `CREATE ROLE ${role} LOGIN PASSWORD ${quoteLiteral(password)}`
        : `ALTER ROLE ${role} WITH LOGIN PASSWORD ${quoteLiteral(password)}`,
    );

    const schemas = await schemasOfTheMaster(tx);
    for (const name of schemas) {
      const schema = quoteIdentifier(name);
      await tx.query(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`);
      await tx.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ${schema} FROM ${role}`);
      await tx.query(`GRANT ${TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA ${schema} TO ${role}`);
      await tx.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${schema} FROM ${role}`);
      await tx.query(`GRANT ${SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role}`);
      // Tables and sequences the master user creates later in this schema get the same at once.
      await tx.query(
        `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT ${TABLE_PRIVILEGES} ON TABLES TO ${role}`,
      );
      await tx.query(
        `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT ${SEQUENCE_PRIVILEGES} ON SEQUENCES TO ${role}`,
      );
    }
    // The migration records: the role may read what is applied; only migrations write them.
    for (const { table } of Object.values(MIGRATION_SEQUENCES)) {
      const { rows } = await tx.query<{ present: boolean }>(
        'SELECT to_regclass($1::text) IS NOT NULL AS present',
        [table],
      );
      if (rows[0]?.present) await tx.query(`REVOKE INSERT, UPDATE, DELETE ON ${table} FROM ${role}`);
    }
    await tx.query(`GRANT TEMPORARY ON DATABASE ${quoteIdentifier(database)} TO ${role}`);

    return {
      role: username,
      created,
      schemas,
      tables: await writableTables(tx, username),
      canCreateIn: await whereRoleCanCreate(tx, username),
    };
  });
}

function checkedCredentials(credentials: DatabaseCredentials): DatabaseCredentials {
  const { username, password } = credentials;
  if (typeof username !== 'string' || !ROLE_NAME.test(username)) {
    throw new PipelineRoleError(
      `Invalid username in the pipeline secret: got ${JSON.stringify(String(username).slice(0, 80))}; ` +
        'expected a PostgreSQL role name in lower case: a letter or _, then letters, digits or _ (at most 63).',
    );
  }
  if (typeof password !== 'string' || password.length === 0 || password.includes('\0')) {
    throw new PipelineRoleError(
      `Invalid password in the pipeline secret of ${username}: expected a non-empty string without NUL characters.`,
    );
  }
  return { username, password };
}

async function roleExists(tx: SqlExecutor, username: string): Promise<boolean> {
  const { rowCount } = await tx.query('SELECT 1 FROM pg_roles WHERE rolname = $1::name', [username]);
  return rowCount > 0;
}

/**
 * The role must be no more than a login: a role that exists already (an existing cluster's, named
 * in its secret) with an attribute or a membership that grants more is refused, not narrowed.
 */
async function refuseWiderRole(tx: SqlExecutor, username: string): Promise<void> {
  const { rows } = await tx.query<{ attributes: string; member_of: string | null }>(
    `SELECT concat_ws(', ',
              CASE WHEN r.rolsuper THEN 'SUPERUSER' END,
              CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
              CASE WHEN r.rolcreatedb THEN 'CREATEDB' END,
              CASE WHEN r.rolreplication THEN 'REPLICATION' END,
              CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END) AS attributes,
            (SELECT string_agg(g.rolname::text, ', ' ORDER BY g.rolname)
               FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
              WHERE m.member = r.oid) AS member_of
       FROM pg_roles r WHERE r.rolname = $1::name`,
    [username],
  );
  const found = rows[0];
  if (!found || (found.attributes === '' && found.member_of === null)) return;
  const wider = [
    ...(found.attributes === '' ? [] : [found.attributes]),
    ...(found.member_of === null ? [] : [`membership of ${found.member_of}`]),
  ];
  throw new PipelineRoleError(
    `Cannot use ${username} as the pipeline role: it has ${wider.join(', ')}, which give more than ` +
      'reading and writing rows. Name a role of its own in the pipeline secret (it is created if missing).',
  );
}

/** Not a system schema (`pg_catalog`, `pg_toast`, `information_schema`, …): the SQL condition on `nsp`. */
const USER_SCHEMA = (nsp: string) =>
  `left(${nsp}.nspname, 3) <> 'pg_' AND ${nsp}.nspname <> 'information_schema'`;

/** Schemas the connected user can create tables in (where migrations put them), system ones aside. */
async function schemasOfTheMaster(tx: SqlExecutor): Promise<string[]> {
  const { rows } = await tx.query<{ name: string }>(
    `SELECT n.nspname AS name FROM pg_namespace n
      WHERE ${USER_SCHEMA('n')} AND has_schema_privilege(n.oid, 'CREATE')
      ORDER BY n.nspname`,
  );
  return rows.map((row) => row.name);
}

/** Tables, views and foreign tables of those schemas that `username` may insert into. */
async function writableTables(tx: SqlExecutor, username: string): Promise<number> {
  const { rows } = await tx.query<{ tables: number }>(
    `SELECT count(*)::int AS tables FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'f') AND ${USER_SCHEMA('n')}
        AND has_schema_privilege(n.oid, 'CREATE') AND has_table_privilege($1::name, c.oid, 'INSERT')`,
    [username],
  );
  return rows[0]?.tables ?? 0;
}

/** Schemas (and the database itself) where the role may still CREATE, through PUBLIC's privileges. */
async function whereRoleCanCreate(tx: SqlExecutor, username: string): Promise<string[]> {
  const { rows } = await tx.query<{ name: string }>(
    `SELECT 'schema ' || n.nspname AS name FROM pg_namespace n
      WHERE ${USER_SCHEMA('n')} AND has_schema_privilege($1::name, n.oid, 'CREATE')
     UNION ALL
     SELECT 'database ' || current_database() WHERE has_database_privilege($1::name, current_database()::text, 'CREATE')
     ORDER BY 1`,
    [username],
  );
  return rows.map((row) => row.name);
}

/** `"name"`, with any `"` doubled: an identifier PostgreSQL reads as exactly `name`. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A string literal PostgreSQL reads as exactly `value`, whatever `standard_conforming_strings`
 * says: quotes doubled, and backslashes doubled in an `E''` literal when there are any.
 */
export function quoteLiteral(value: string): string {
  const quoted = value.replace(/'/g, "''");
  return value.includes('\\') ? `E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}
