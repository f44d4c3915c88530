/**
 * `hindsight transition new`: a ready-to-edit transition for a stage's next version, written into
 * `transitions/` beside the module `hindsight:pipeline` names and listed in its index. The CLI runs
 * as a child process in a copy of the meters fixture project (inside the repository, where its
 * stage files resolve `hindsight`); `scaffoldTransition` itself on a copy of the index.
 */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { scaffoldTransition, TRANSITIONS_MARKER } from '../../cli/transition-scaffold';
import { InvalidInputError } from '../../lambdas/engine/errors';
import { loadPipelineModule, type PipelineModule } from '../../lib/project';
import { pipeline } from '../fixtures/pipelines/meters';
import { type CliResult, hindsight, REPOSITORY, snapshotTree } from '../support/cli';
import { METERS } from '../support/fixture-pipelines';

/** Gitignored: fixture projects that must sit inside the repository (stage code imports `hindsight`). */
const PROJECTS = join(REPOSITORY, '.pipeline-test-projects');
const copies: string[] = [];

afterAll(() => {
  for (const copy of copies) rmSync(copy, { recursive: true, force: true });
});

function copyOfTransitions(): string {
  const directory = mkdtempSync(join(tmpdir(), 'hindsight-scaffold-'));
  copies.push(directory);
  copyFileSync(join(dirname(METERS.entry), 'transitions', 'index.ts'), join(directory, 'index.ts'));
  return directory;
}

/** A project holding a copy of the meters fixture in `meters/`, its cdk.json naming it by relative paths. */
function copyOfMetersProject(): string {
  mkdirSync(PROJECTS, { recursive: true });
  const root = mkdtempSync(join(PROJECTS, 'scaffold-'));
  copies.push(root);
  cpSync(dirname(METERS.entry), join(root, 'meters'), { recursive: true });
  const context = { 'hindsight:pipeline': 'meters/index.ts', 'hindsight:migrations': 'meters/migrations' };
  writeFileSync(join(root, 'cdk.json'), `${JSON.stringify({ context }, null, 2)}\n`);
  return root;
}

/** The project's pipeline module, loaded afresh (not from jest's module registry). */
function loadProjectModule(root: string): PipelineModule {
  let loaded: PipelineModule | undefined;
  jest.isolateModules(() => {
    loaded = loadPipelineModule(join(root, 'meters', 'index.ts'), 'hindsight:pipeline');
  });
  if (loaded === undefined) throw new Error('not loaded');
  return loaded;
}

describe('Function: scaffoldTransition', () => {
  it('writes the next id for the stage’s next version and lists it above the marker', () => {
    const directory = copyOfTransitions();
    writeFileSync(join(directory, '0007_older.ts'), '');

    const created = scaffoldTransition(directory, pipeline, 'clear_rejections', 'validate');

    expect(created).toMatchObject({ id: '0008_clear_rejections', stage: 'validate', toVersion: 2 });
    const source = readFileSync(created.file, 'utf8');
    expect(source).toContain("id: '0008_clear_rejections'");
    expect(source).toContain("stage: 'validate'");
    expect(source).toContain('toVersion: 2');
    const index = readFileSync(join(directory, 'index.ts'), 'utf8');
    expect(index).toContain("import { clearRejections } from './0008_clear_rejections';");
    expect(index.indexOf('clearRejections,')).toBeLessThan(index.indexOf(TRANSITIONS_MARKER));
  });

  it.each([
    ['Clear-Rejections', 'validate', 'Invalid name: got "Clear-Rejections"; expected lower snake case'],
    ['clear_rejections', 'cleanse', 'Invalid --stage: got "cleanse"; expected one of collect, validate'],
  ])('refuses name %j with stage %j, writing nothing', (name, stage, message) => {
    const directory = copyOfTransitions();
    const before = readFileSync(join(directory, 'index.ts'), 'utf8');
    expect(() => scaffoldTransition(directory, pipeline, name, stage)).toThrow(InvalidInputError);
    expect(() => scaffoldTransition(directory, pipeline, name, stage)).toThrow(message);
    expect(readFileSync(join(directory, 'index.ts'), 'utf8')).toBe(before);
  });
});

describe('hindsight transition new, in a project', () => {
  let root: string;
  let result: CliResult;

  beforeAll(async () => {
    root = copyOfMetersProject();
    result = await hindsight(['transition', 'new', 'clear_rejections', '--stage', 'validate'], { cwd: root });
  });

  it('writes the transition into transitions/ beside the module hindsight:pipeline names, and says so', () => {
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toBe(
      'Wrote meters/transitions/0001_clear_rejections.ts and listed it in meters/transitions/index.ts.\n' +
        'Fill in apply(), then bump validate to version 2: the next backfill applies 0001_clear_rejections ' +
        'to every date it reruns from validate, once per date.\n',
    );
    const source = readFileSync(join(root, 'meters', 'transitions', '0001_clear_rejections.ts'), 'utf8');
    expect(source).toContain("import { defineTransition } from 'hindsight';");
    expect(source).toContain('export const clearRejections = defineTransition({');
    expect(source).toContain("id: '0001_clear_rejections'");
    expect(source).toContain("stage: 'validate'");
    expect(source).toContain('toVersion: 2');
    const index = readFileSync(join(root, 'meters', 'transitions', 'index.ts'), 'utf8');
    expect(index).toContain("import { clearRejections } from './0001_clear_rejections';");
    expect(index.indexOf('clearRejections,')).toBeLessThan(index.indexOf(TRANSITIONS_MARKER));
  });

  it('leaves a pipeline module that loads, with the transition listed', () => {
    const { pipeline: loaded, transitions } = loadProjectModule(root);
    expect(loaded.names).toEqual(pipeline.names);
    expect(transitions.map(({ id, stage, toVersion }) => ({ id, stage, toVersion }))).toEqual([
      { id: '0001_clear_rejections', stage: 'validate', toVersion: 2 },
    ]);
  });

  it.each([
    ['Clear-Rejections', 'validate', 'Invalid name: got "Clear-Rejections"; expected lower snake case'],
    [
      'clear_rejections',
      'cleanse',
      'Invalid --stage: got "cleanse"; expected one of collect, validate, summarize, trend, report',
    ],
  ])('refuses name %j with stage %j with exit 2, writing nothing', async (name, stage, message) => {
    const project = copyOfMetersProject();
    const before = snapshotTree(project);

    const refused = await hindsight(['transition', 'new', name, '--stage', stage], { cwd: project });

    expect({ code: refused.code, stdout: refused.stdout }).toEqual({ code: 2, stdout: '' });
    expect(refused.stderr).toContain(message);
    expect(refused.stderr).toContain('Nothing was changed.');
    expect(snapshotTree(project)).toEqual(before);
  });
});
