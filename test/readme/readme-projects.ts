/**
 * The throwaway projects the README walk-through runs in, so that its edits (a version bump, a new
 * transition, a hand-changed row) never touch this checkout: a copy of the example pipeline with
 * this repository's cdk.json and lock file, and a project naming the shop example (examples/shop),
 * as the README's "Stages as a graph" says to configure it. `hindsight` resolves to this repository
 * through node_modules/hindsight, as it would to the installed package.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPOSITORY = join(__dirname, '..', '..');

/** A copy of the example: cdk.json, hindsight.lock.json and pipeline/ (its tests left out). */
export function exampleProject(parent: string): string {
  const root = join(parent, 'example');
  mkdirSync(root, { recursive: true });
  for (const file of ['cdk.json', 'hindsight.lock.json']) cpSync(join(REPOSITORY, file), join(root, file));
  cpSync(join(REPOSITORY, 'pipeline'), join(root, 'pipeline'), {
    recursive: true,
    filter: (source) => !source.startsWith(join(REPOSITORY, 'pipeline', 'test')),
  });
  linkPackage(root);
  return root;
}

/**
 * The shop example as `hindsight:pipeline`, and this repository's fixture pipelines where the
 * README's `--stages test/fixtures/pipelines/…` finds them.
 */
export function shopProject(parent: string): string {
  const root = join(parent, 'shop');
  mkdirSync(root, { recursive: true });
  const context = JSON.parse(readFileSync(join(REPOSITORY, 'cdk.json'), 'utf8')).context;
  const cdkJson = {
    context: {
      ...context,
      'hindsight:pipeline': join(REPOSITORY, 'examples', 'shop', 'index.ts'),
      'hindsight:migrations': join(REPOSITORY, 'examples', 'shop', 'migrations'),
    },
  };
  writeFileSync(join(root, 'cdk.json'), `${JSON.stringify(cdkJson, null, 2)}\n`);
  mkdirSync(join(root, 'test', 'fixtures'), { recursive: true });
  symlinkSync(join(REPOSITORY, 'test', 'fixtures', 'pipelines'), join(root, 'test', 'fixtures', 'pipelines'));
  linkPackage(root);
  return root;
}

export function temporaryParent(): string {
  return mkdtempSync(join(tmpdir(), 'hindsight-readme-'));
}

/**
 * node_modules/hindsight → this repository; node_modules/.cache → this repository's, so that the
 * walk-through's projects share Hindsight's cache (the synthesized workflows, the empty database a
 * new data directory starts from) with each other and with the other tests, as a team's projects
 * on one machine share theirs: what is in it is keyed by what made it.
 */
function linkPackage(root: string): void {
  mkdirSync(join(root, 'node_modules'), { recursive: true });
  symlinkSync(REPOSITORY, join(root, 'node_modules', 'hindsight'), 'dir');
  const cache = join(REPOSITORY, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  symlinkSync(cache, join(root, 'node_modules', '.cache'), 'dir');
}
