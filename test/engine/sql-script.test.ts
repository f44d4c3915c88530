import { splitSqlStatements } from '../../lambdas/engine/sql-script';

describe('Function: splitSqlStatements', () => {
  it('splits at top-level semicolons and drops comment-only pieces', () => {
    expect(splitSqlStatements('CREATE TABLE a (x INT);\n-- note\nINSERT INTO a VALUES (1);\n')).toEqual([
      'CREATE TABLE a (x INT)',
      '-- note\nINSERT INTO a VALUES (1)',
    ]);
  });

  it('keeps semicolons inside literals, identifiers, comments and dollar quotes', () => {
    const script = `INSERT INTO t VALUES ('a;b', 'it''s; fine');
      CREATE TABLE "odd;name" (x INT); /* a; b */
      CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
      DO $$ BEGIN PERFORM 1; END $$`;
    const statements = splitSqlStatements(script);
    expect(statements).toHaveLength(4);
    expect(statements[0]).toBe("INSERT INTO t VALUES ('a;b', 'it''s; fine')");
    expect(statements[2]).toContain('$body$ SELECT 1; $body$');
    expect(statements[3]).toBe('DO $$ BEGIN PERFORM 1; END $$');
  });

  it("keeps semicolons inside E'' strings with backslash escapes and inside nested block comments", () => {
    const script = `INSERT INTO t VALUES (E'a\\'; b');
      /* outer /* inner; */ still a comment; */ SELECT 2;
      /* only a comment; */`;
    expect(splitSqlStatements(script)).toEqual([
      "INSERT INTO t VALUES (E'a\\'; b')",
      '/* outer /* inner; */ still a comment; */ SELECT 2',
    ]);
  });
});
