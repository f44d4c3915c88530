/**
 * README's "Make it yours" shows a first pipeline of its own: the test writes exactly those files
 * (taken from the README's code blocks) into a new project and runs them, so the example a
 * newcomer copies cannot stop working unnoticed.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { StatusReport } from '../../cli/status-view';
import { hindsight, REPOSITORY } from '../support/cli';

/** The files of the README's first pipeline: each `// pipeline/…` piece of the TypeScript block, and the SQL block. */
function readmePipelineFiles(): Record<string, string> {
  const readme = readFileSync(join(REPOSITORY, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('A first pipeline of two stages'));
  const block = (fence: string) => {
    const start = section.indexOf(`\`\`\`${fence}\n`) + fence.length + 4;
    return section.slice(start, section.indexOf('```', start));
  };
  const files: Record<string, string> = {};
  for (const piece of block('ts')
    .trim()
    .split(/\n(?=\/\/ pipeline\/)/)) {
    const path = /^\/\/ (pipeline\/\S+)/.exec(piece)?.[1];
    if (path === undefined) throw new Error(`A piece of the README's pipeline names no file:\n${piece}`);
    files[path] = `${piece}\n`;
  }
  const sql = block('sql');
  const sqlPath = /^-- (pipeline\/\S+)/.exec(sql)?.[1];
  if (sqlPath === undefined) throw new Error("The README's migration names no file.");
  files[sqlPath] = sql;
  return files;
}

describe("README: a first pipeline of one's own", () => {
  // Inside the repository (git-ignored), so `import … from 'hindsight'` resolves as in a project.
  const projects = join(REPOSITORY, '.pipeline-test-projects');
  let project: string;
  let dataDir: string;

  beforeAll(() => {
    mkdirSync(projects, { recursive: true });
    project = mkdtempSync(join(projects, 'readme-'));
    dataDir = mkdtempSync(join(tmpdir(), 'hindsight-readme-'));
    for (const [path, text] of Object.entries(readmePipelineFiles())) {
      mkdirSync(dirname(join(project, path)), { recursive: true });
      writeFileSync(join(project, path), text);
    }
    const context = {
      'hindsight:pipeline': 'pipeline/index.ts',
      'hindsight:migrations': 'pipeline/migrations',
    };
    writeFileSync(join(project, 'cdk.json'), JSON.stringify({ context }));
  });

  afterAll(() => {
    rmSync(project, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs, and status names its two stages, all fresh', async () => {
    const run = await hindsight(
      ['--data-dir', dataDir, 'run', '--from', '2026-03-01', '--to', '2026-03-03'],
      {
        cwd: project,
      },
    );
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain('2026-03-03  page_views 20 · weekly_pages 20');

    const status = await hindsight(['--data-dir', dataDir, 'status', '--json'], { cwd: project });
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as StatusReport;
    expect(report.stages).toEqual(['page_views', 'weekly_pages']);
    expect(report.counts).toEqual({ fresh: 6, stale: 0, missing: 0 });
  });
});
