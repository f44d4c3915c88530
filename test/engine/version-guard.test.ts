import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  acceptStage,
  checkLock,
  computeLock,
  formatFindings,
  LOCK_FILE_NAME,
  LockFileInvalidError,
  type LockFinding,
  LockRefusedError,
  lockVerdict,
  readLockFile,
  type StageList,
  StageSourceError,
  serialiseLock,
  sourceTokens,
  updateLock,
  writeLockFile,
} from '../../cli/version-guard';
import { InvalidInputError } from '../../lambdas/engine/errors';

const FIXTURE = join(__dirname, '..', 'fixtures', 'version-guard');

/** The fixture's stages, all at version 1, with optional version overrides. */
function stages(versions: Record<string, number> = {}, names = ['extract', 'clean', 'report']): StageList {
  return { stages: names.map((name) => ({ name, version: versions[name] ?? 1 })) };
}

/** Kinds per stage, for short assertions. */
function kinds(findings: readonly LockFinding[]): Record<string, LockFinding['kind']> {
  return Object.fromEntries(findings.map((finding) => [finding.stage, finding.kind]));
}

describe('Module: version-guard', () => {
  let root: string;

  /** Replaces `from` with `to` in a file of the copied fixture, failing if `from` is not there. */
  function edit(path: string, from: string, to: string): void {
    const file = join(root, path);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(from);
    writeFileSync(file, text.replace(from, to));
  }

  const lock = (list: StageList = stages()) => computeLock(list, { root });

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'hindsight-version-guard-'));
    cpSync(FIXTURE, root, { recursive: true });
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  describe('Function: computeLock', () => {
    it('records each stage with its module and the project files it imports at run time', () => {
      // Act
      const computed = lock();

      // Assess
      expect(computed.lockfileVersion).toBe(1);
      expect(Object.keys(computed.stages)).toEqual(['extract', 'clean', 'report']);
      expect(computed.stages.clean.module).toBe('lambdas/stages/clean.ts');
      expect(Object.keys(computed.stages.extract.files)).toEqual([
        'lambdas/kit/define.ts',
        'lambdas/kit/sql-helpers.ts',
        'lambdas/stages/extract.ts',
      ]);
      expect(Object.keys(computed.stages.clean.files)).toEqual([
        'lambdas/kit/define.ts',
        'lambdas/kit/index.ts',
        'lambdas/kit/sql-helpers.ts',
        'lambdas/stages/clean.ts',
      ]);
      expect(Object.keys(computed.stages.report.files)).toEqual([
        'lambdas/kit/define.ts',
        'lambdas/stages/report.ts',
      ]);
    });

    it('refuses a stage without a module named after it', () => {
      expect(() => lock(stages({}, ['extract', 'load']))).toThrow(
        new StageSourceError(
          "Stage load has no module lambdas/stages/load.ts. The version guard finds a stage's code by its " +
            'file name: define stage load in lambdas/stages/load.ts.',
        ),
      );
    });

    it('refuses a module that does not name its stage', () => {
      // Prepare
      writeFileSync(join(root, 'lambdas/stages/load.ts'), "export const load = { name: 'other' };\n");

      // Act & Assess
      expect(() => lock(stages({}, ['load']))).toThrow(/does not contain the string 'load'/);
    });

    it('refuses an import it cannot resolve, and one it cannot read', () => {
      edit('lambdas/stages/report.ts', "'../kit/define'", "'../kit/missing'");
      expect(() => lock()).toThrow(
        /lambdas\/stages\/report\.ts imports '\.\.\/kit\/missing', which is not a file/,
      );

      edit('lambdas/stages/report.ts', "'../kit/missing'", "'../kit/define'");
      edit(
        'lambdas/stages/report.ts',
        '/** Totals',
        "const kit = '../kit/sql-helpers';\nvoid import(kit);\n/** Totals",
      );
      expect(() => lock()).toThrow(/report\.ts:4 uses import\(\) with a computed argument/);
    });
  });

  describe('Function: checkLock', () => {
    it('finds every stage ok when nothing changed', () => {
      // Act
      const findings = checkLock(lock(), lock());

      // Assess
      expect(findings).toEqual([
        { kind: 'ok', stage: 'extract', version: 1 },
        { kind: 'ok', stage: 'clean', version: 1 },
        { kind: 'ok', stage: 'report', version: 1 },
      ]);
      expect(lockVerdict(findings)).toBe('ok');
      expect(formatFindings(findings)).toBe('All 3 stages match hindsight.lock.json.');
    });

    it('finds every stage ok after comments, whitespace, line endings and trailing commas change', () => {
      // Prepare
      const recorded = lock();
      edit(
        'lambdas/stages/clean.ts',
        '/** Keeps the day',
        '// A new comment.\n/* And a block. */\n/** Keeps all of the day',
      );
      edit(
        'lambdas/stages/clean.ts',
        "  name: 'clean',\n  version: 1,",
        "    name:   'clean', // the id\n\n  version: 1,",
      );
      edit(
        'lambdas/kit/sql-helpers.ts',
        'export function forDay(table: string)',
        'export function forDay(\n  table: string,\n)',
      );
      const helpers = join(root, 'lambdas/kit/define.ts');
      writeFileSync(helpers, readFileSync(helpers, 'utf8').replace(/\n/g, '\r\n'));

      // Act
      const findings = checkLock(lock(), recorded);

      // Assess
      expect(kinds(findings)).toEqual({ extract: 'ok', clean: 'ok', report: 'ok' });
    });

    it('fails a stage whose SQL changed without a version bump, naming it and both ways out', () => {
      // Prepare
      const recorded = lock();
      edit('lambdas/stages/clean.ts', "r.status = 'paid'", "r.status IN ('paid', 'shipped')");

      // Act
      const findings = checkLock(lock(), recorded);

      // Assess
      expect(kinds(findings)).toEqual({ extract: 'ok', clean: 'code-changed-without-bump', report: 'ok' });
      expect(lockVerdict(findings)).toBe('failed');
      expect(formatFindings(findings)).toBe(
        'Stage clean changed (lambdas/stages/clean.ts) but its version is still 1.\n' +
          '  If results change: bump its version to 2 in lambdas/stages/clean.ts — past dates will be rebuilt ' +
          'from clean on (hindsight plan shows which).\n' +
          '  If nothing it computes changes (a refactor): npx hindsight lock --accept clean',
      );
    });

    it('fails a whitespace change inside a SQL string (strings are compared as written)', () => {
      const recorded = lock();
      edit('lambdas/stages/report.ts', 'SELECT day,', 'SELECT  day,');
      expect(kinds(checkLock(lock(), recorded)).report).toBe('code-changed-without-bump');
    });

    it('fails every stage importing an edited helper, and no other', () => {
      // Prepare
      const recorded = lock();
      edit('lambdas/kit/sql-helpers.ts', 'WHERE day = $1::date', 'WHERE day = $1::date AND NOT deleted');

      // Act
      const findings = checkLock(lock(), recorded);

      // Assess
      expect(kinds(findings)).toEqual({
        extract: 'code-changed-without-bump',
        clean: 'code-changed-without-bump',
        report: 'ok',
      });
      expect(formatFindings(findings)).toContain(
        'Stage extract changed (lambdas/kit/sql-helpers.ts) but its version is still 1.',
      );
      expect(formatFindings(findings)).toContain(
        'Stage clean changed (lambdas/kit/sql-helpers.ts) but its version is still 1.',
      );
    });

    it('fails a stage that starts importing another project file', () => {
      const recorded = lock();
      edit(
        'lambdas/stages/report.ts',
        "import { defineFakeStage } from '../kit/define';",
        "import { defineFakeStage } from '../kit/define';\nimport '../kit/sql-helpers';",
      );
      const [, , report] = checkLock(lock(), recorded);
      expect(report).toMatchObject({
        kind: 'code-changed-without-bump',
        changedFiles: ['lambdas/kit/sql-helpers.ts', 'lambdas/stages/report.ts'],
      });
    });

    it('ignores a module imported only as types', () => {
      const recorded = lock();
      edit(
        'lambdas/kit/types.ts',
        'readonly sql: string;',
        'readonly sql: string;\n  readonly note?: string;',
      );
      expect(kinds(checkLock(lock(), recorded))).toEqual({ extract: 'ok', clean: 'ok', report: 'ok' });
    });

    it('reports a bump as allowed, with the lock to update', () => {
      // Prepare
      const recorded = lock();
      edit('lambdas/stages/clean.ts', "r.status = 'paid'", "r.status IN ('paid', 'shipped')");
      edit('lambdas/stages/clean.ts', 'version: 1', 'version: 2');

      // Act
      const findings = checkLock(lock(stages({ clean: 2 })), recorded);

      // Assess
      expect(findings[1]).toEqual({ kind: 'bumped', stage: 'clean', from: 1, to: 2 });
      expect(lockVerdict(findings)).toBe('outdated');
      expect(formatFindings(findings)).toBe(
        'hindsight.lock.json is out of date; record it with npx hindsight lock:\n' +
          '  clean: version 1 → 2 (past dates will be rebuilt from clean on; hindsight plan shows which)',
      );
    });

    it('fails a version that went down', () => {
      // Prepare
      const recorded = lock(stages({ report: 3 }));

      // Act
      const findings = checkLock(lock(stages({ report: 2 })), recorded);

      // Assess
      expect(findings[2]).toEqual({
        kind: 'version-decreased',
        stage: 'report',
        from: 3,
        to: 2,
        module: 'lambdas/stages/report.ts',
      });
      expect(lockVerdict(findings)).toBe('failed');
      expect(formatFindings(findings)).toBe(
        "Stage report's version went down from 3 to 2.\n" +
          '  Versions only go up, so that one number never means two codes in the ledger: set it to 4 in ' +
          'lambdas/stages/report.ts — past dates will be rebuilt from report on.',
      );
    });

    it('reports new and removed stages as allowed, with the lock to update', () => {
      // Prepare
      const recorded = lock(stages({}, ['extract', 'clean']));
      writeFileSync(join(root, 'lambdas/stages/clean.ts'), '// gone\n');

      // Act
      const findings = checkLock(lock(stages({}, ['extract', 'report'])), recorded);

      // Assess
      expect(findings).toEqual([
        { kind: 'ok', stage: 'extract', version: 1 },
        { kind: 'new-stage', stage: 'report', version: 1 },
        { kind: 'removed-stage', stage: 'clean', version: 1 },
      ]);
      expect(lockVerdict(findings)).toBe('outdated');
      expect(formatFindings(findings)).toBe(
        'hindsight.lock.json is out of date; record it with npx hindsight lock:\n' +
          '  report: new stage at version 1\n' +
          '  clean: no longer in the pipeline',
      );
    });

    it('reports every stage as new when there is no lock yet', () => {
      expect(kinds(checkLock(lock(), undefined))).toEqual({
        extract: 'new-stage',
        clean: 'new-stage',
        report: 'new-stage',
      });
    });
  });

  describe('Function: updateLock', () => {
    it('records a bump, after which every stage is ok', () => {
      // Prepare
      const recorded = lock();
      edit('lambdas/stages/extract.ts', "forDay('source_rows')", "forDay('source_rows_v2')");
      const current = lock(stages({ extract: 2 }));

      // Act
      const updated = updateLock(recorded, current);

      // Assess
      expect(updated).toEqual(current);
      expect(lockVerdict(checkLock(lock(stages({ extract: 2 })), updated))).toBe('ok');
    });

    it('refuses while a stage changed without a bump, with the formatted findings', () => {
      // Prepare
      const recorded = lock(stages({ report: 2 }));
      edit('lambdas/stages/clean.ts', "'paid'", "'settled'");
      const current = lock(stages({ report: 1 }));

      // Act & Assess
      const attempt = () => updateLock(recorded, current);
      expect(attempt).toThrow(LockRefusedError);
      expect(attempt).toThrow(/^Stage clean changed \(lambdas\/stages\/clean\.ts\)/);
      expect(attempt).toThrow(/Stage report's version went down from 2 to 1\./);
    });
  });

  describe('Function: acceptStage', () => {
    it('takes the stage’s code as it is now, after which it is ok', () => {
      // Prepare
      const recorded = lock();
      edit('lambdas/kit/sql-helpers.ts', 'day = $1::date', 'day = $1::date LIMIT 100');

      // Act
      const accepted = acceptStage(recorded, lock(), 'extract');

      // Assess
      expect(kinds(checkLock(lock(), accepted))).toEqual({
        extract: 'ok',
        clean: 'code-changed-without-bump',
        report: 'ok',
      });
      expect(accepted.stages.extract.version).toBe(1);
      expect(accepted.stages.clean).toEqual(recorded.stages.clean);
    });

    it('refuses an unknown stage, listing the known ones', () => {
      expect(() => acceptStage(lock(), lock(), 'transfrom')).toThrow(
        InvalidInputError.of('stage', 'transfrom', 'one of extract, clean, report'),
      );
    });

    it('refuses a stage whose version changed (plain lock records that)', () => {
      expect(() => acceptStage(lock(), lock(stages({ clean: 2 })), 'clean')).toThrow(
        'Invalid stage: got "clean"; expected a stage whose version is unchanged (clean went from 1 to 2: ' +
          'npx hindsight lock records that).',
      );
    });

    it('refuses a stage the lock does not record yet', () => {
      expect(() => acceptStage(undefined, lock(), 'clean')).toThrow(
        /clean is new: npx hindsight lock records it/,
      );
    });
  });

  describe('Function: sourceTokens', () => {
    const same = (a: string, b: string) => expect(sourceTokens(a)).toEqual(sourceTokens(b));
    const differ = (a: string, b: string) => expect(sourceTokens(a)).not.toEqual(sourceTokens(b));

    it('drops comments and whitespace between tokens', () => {
      same('const a = 1; // one\n', '/** A. */\nconst   a =\n  1 /* one */;');
      same('f(a, b)', 'f(\n  a,\n  b,\n)');
    });

    it('keeps what only looks like a comment inside strings, templates and regular expressions', () => {
      differ("const s = '// a';", "const s = '// b';");
      differ('const s = "/* a */";', 'const s = "/* b */";');
      differ('const r = /\\/\\/a/;', 'const r = /\\/\\/b/;');
      differ(`const t = \`\${x} // a\`;`, `const t = \`\${x} // b\`;`);
      same(`const t = \`a \${ /* c */ b } c\`;`, `const t = \`a \${b} c\`;`);
      differ(`const t = \`a \${ b } c\`;`, `const t = \`a \${b}  c\`;`);
    });

    it('keeps commas that make array holes', () => {
      same('[a,]', '[a]');
      differ('[a,,]', '[a,]');
      differ('[,]', '[]');
    });

    it('keeps the stage’s version', () => {
      differ('defineStage({ version: 1 })', 'defineStage({ version: 2 })');
    });
  });

  describe('Function: readLockFile / writeLockFile', () => {
    it('round-trips a lock with stages and files in name order and a final newline', () => {
      // Prepare
      const path = join(root, LOCK_FILE_NAME);
      const computed = lock();

      // Act
      writeLockFile(path, computed);
      const text = readFileSync(path, 'utf8');

      // Assess
      expect(readLockFile(path)).toEqual(computed);
      expect(text.endsWith('}\n')).toBe(true);
      expect(Object.keys(JSON.parse(text).stages)).toEqual(['clean', 'extract', 'report']);
      expect(text).toBe(serialiseLock(JSON.parse(text)));
    });

    it('reads a missing lock file as no lock', () => {
      expect(readLockFile(join(root, LOCK_FILE_NAME))).toBeUndefined();
    });

    it('refuses a lock file that is not one', () => {
      const path = join(root, LOCK_FILE_NAME);
      writeFileSync(path, '{"lockfileVersion": 2, "stages": {}}');
      expect(() => readLockFile(path)).toThrow(LockFileInvalidError);
      writeFileSync(path, '{');
      expect(() => readLockFile(path)).toThrow(/is not valid JSON/);
    });
  });
});
