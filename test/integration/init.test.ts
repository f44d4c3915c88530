/** `hindsight init`: what it writes, and what it refuses without writing anything. */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLock, computeLock, LOCK_FILE_NAME, lockVerdict, readLockFile } from '../../cli/version-guard';
import { runCliInProcess } from '../support/cli-in-process';

const NOW = new Date('2026-12-02T10:00:00Z');
const REPOSITORY = join(__dirname, '..', '..');

function init(args: readonly string[], cwd: string) {
  return runCliInProcess(['init', ...args], { now: NOW, cwd });
}

describe('hindsight init', () => {
  let workspace: string;
  beforeEach(() => {
    workspace = mkdtempSync(join(tmpdir(), 'hindsight-init-'));
  });

  it('writes a project whose package.json pins this copy of hindsight and its tool versions', async () => {
    // Act
    const result = await init(['my-pipeline'], workspace);

    // Assess
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('Wrote my-pipeline into my-pipeline (15 files)');
    const root = join(workspace, 'my-pipeline');
    const own = JSON.parse(readFileSync(join(REPOSITORY, 'package.json'), 'utf8'));
    const written = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(written.name).toBe('my-pipeline');
    expect(written.dependencies).toEqual({
      hindsight: `file:${REPOSITORY}`,
      'aws-cdk-lib': own.dependencies['aws-cdk-lib'],
      constructs: own.dependencies.constructs,
    });
    expect(written.devDependencies.node).toBe(own.devDependencies.node);
    expect(written.devDependencies['aws-cdk']).toBe(own.devDependencies['aws-cdk']);
    for (const file of [
      '.gitignore',
      '.npmrc',
      '.ci/run',
      'README.md',
      'bin/app.ts',
      'cdk.json',
      'tsconfig.json',
      'pipeline/index.ts',
      'pipeline/stages/index.ts',
      'pipeline/stages/page_views.ts',
      'pipeline/stages/views_3d.ts',
      'pipeline/migrations/0001_page_views.sql',
      'pipeline/test/stages.test.ts',
    ]) {
      expect(existsSync(join(root, file))).toBe(true);
    }
    expect(statSync(join(root, '.ci', 'run')).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(root, '.gitignore'), 'utf8')).toMatch(/cdk\.out[\s\S]*\.pipeline/);
    const cdkJson = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8'));
    expect(cdkJson.context).toMatchObject({
      'hindsight:stackName': 'MyPipeline',
      'hindsight:pipeline': 'pipeline/index.ts',
      'hindsight:migrations': 'pipeline/migrations',
    });
  });

  it("writes a lock file that matches the template's stages, transition-free", async () => {
    // Act
    await init(['locked', '--hindsight', '^0.1.0'], workspace);

    // Assess
    const root = join(workspace, 'locked');
    const stages = [
      { name: 'page_views', version: 1 },
      { name: 'views_3d', version: 1 },
    ];
    const current = computeLock({ stages }, { root, stagesDirectory: 'pipeline/stages' });
    expect(lockVerdict(checkLock(current, readLockFile(join(root, LOCK_FILE_NAME))))).toBe('ok');
    expect(existsSync(join(root, 'pipeline', 'transitions'))).toBe(false);
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies.hindsight).toBe(
      '^0.1.0',
    );
  });

  it('refuses a non-empty directory, naming it, and writes nothing', async () => {
    // Arrange
    const taken = join(workspace, 'taken');
    mkdirSync(taken);
    writeFileSync(join(taken, 'notes.txt'), 'mine');

    // Act
    const result = await init(['taken'], workspace);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `Invalid DIR: got "taken"; expected a new or empty directory (${taken} holds notes.txt)`,
    );
    expect(readdirSync(taken)).toEqual(['notes.txt']);
  });

  it.each([
    [['--name', 'My Pipeline'], '--name', 'My Pipeline'],
    [['--name', 'hindsight'], '--name', 'hindsight'],
    [['--name', '_private'], '--name', '_private'],
  ])(
    'refuses %j naming the field, the value and the accepted form, and writes nothing',
    async (flags, field, value) => {
      // Act
      const result = await init(['fresh', ...flags], workspace);

      // Assess
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`Invalid ${field}: got "${value}"; expected an npm package name`);
      expect(existsSync(join(workspace, 'fresh'))).toBe(false);
    },
  );

  it('refuses a directory whose name is no npm name when --name does not give one', async () => {
    // Act
    const result = await init(['My Pipeline'], workspace);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'Invalid DIR: got "My Pipeline"; expected a directory whose name is an npm package name',
    );
    expect(result.stderr).toContain('--name');
    expect(readdirSync(workspace)).toEqual([]);
  });
});
