/**
 * `hindsight status --html`: a real status report (daily runs on a temporary data directory, then
 * a rehearsed validate v2 so later stages are stale, one date never run), rendered as a page and
 * opened in headless Chromium. The rendered DOM must hold one cell per (date, stage) with the
 * report's states, and the screenshot's pixel at each cell's centre must be that state's colour.
 *
 * Chromium is driven by its own command line (no npm package). It is looked for, never installed
 * here (CI installs it first: `apt-get install -y chromium`); without it the browser checks are
 * skipped with the reason printed. HINDSIGHT_WRITE_SCREENSHOT=1 also saves the screenshot as
 * docs/status.png, the one the README shows.
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { EXIT } from '../../cli/program';
import {
  cellCentre,
  type DisplayState,
  displayState,
  renderStatusPage,
  STATE_COLOURS,
  statusTotals,
} from '../../cli/status-page';
import type { StatusReport } from '../../cli/status-view';
import type { HeldLease } from '../../lambdas/engine/lease';
import { findProject } from '../../lib/project';
import { cachedWorkflowDefinitions } from '../../local/cached-definitions';
import { openLocalServices } from '../../local/local-services';
import { LocalWorkflows } from '../../local/local-workflows';
import { pipeline as meters } from '../fixtures/pipelines/meters';
import { REPOSITORY } from '../support/cli';
import { runCliInProcess } from '../support/cli-in-process';
import { METERS } from '../support/fixture-pipelines';
import { fixtureProject } from '../support/fixture-project';
import { decodePng } from '../support/png';

const run = promisify(execFile);
/** The rehearsed change: validate v2, which also drops readings under 0.1 kWh. */
const FIXTURE = join(__dirname, '..', 'fixtures', 'pipelines', 'meters-validate-v2.ts');
const STAGES = ['collect', 'validate', 'summarize', 'trend', 'report'];
/**
 * Five dates run with v1; 2026-03-04 is never run. The daily run refuses a date whose trend
 * window holds a missing date, so the two after the gap are run by an explicit backfill.
 */
const DAILY_DATES = ['2026-03-01', '2026-03-02', '2026-03-03'];
const AFTER_GAP = { from: '2026-03-05', to: '2026-03-06', startStage: 'collect' };
const SHOWN_DATES = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06'];
const NOW = new Date('2026-03-07T06:30:00.000Z');
const WINDOW = { width: 1200, height: 900 };

const CHROMIUM = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (path): path is string => path !== undefined && path !== '' && existsSync(path),
);
if (CHROMIUM === undefined) {
  console.log('status-page: Chromium not found (/usr/bin/chromium); the browser checks are skipped.');
}
const withBrowser = CHROMIUM === undefined ? it.skip : it;

let root: string;
/** The project the CLI runs in: its cdk.json names the meters fixture. */
let project: string;
let dataDir: string;
let report: StatusReport;
const timings: string[] = [];

/** `hindsight` in this process, output captured. */
const cli = (args: readonly string[]) => runCliInProcess(args, { now: NOW, cwd: project });

async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const began = Date.now();
  try {
    return await work();
  } finally {
    timings.push(`  ${((Date.now() - began) / 1000).toFixed(1).padStart(5)} s  ${what}`);
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'hindsight-status-page-'));
  dataDir = join(root, 'data');
  project = fixtureProject();
  await timed(`${DAILY_DATES.length} daily runs and a backfill of 2 dates (v1)`, async () => {
    const services = await openLocalServices({
      dataDir,
      pipeline: meters,
      migrationsDirectory: METERS.migrationsDirectory,
      params: { rowsPerDay: '50' },
    });
    try {
      // Synthesized with the project's cdk.json, as the CLI does: its cache serves the commands below.
      const definitions = cachedWorkflowDefinitions(
        services.dataDir,
        METERS,
        { pipeline: meters, transitions: [] },
        findProject(project).context,
      );
      const workflows = await LocalWorkflows.create(services, definitions, { pauseMs: 50 });
      for (const date of DAILY_DATES) {
        const outcome = await workflows.start('daily', { date }).done;
        if (outcome.status !== 'SUCCEEDED') throw new Error(`daily ${date}: ${JSON.stringify(outcome)}`);
      }
      const outcome = await workflows.start('backfill', AFTER_GAP).done;
      if (outcome.status !== 'SUCCEEDED') throw new Error(`backfill: ${JSON.stringify(outcome)}`);
    } finally {
      await services.close();
    }
  });
  // The rehearsed change: the same stage list with validate at v2 (the definitions cache still fits).
  const status = await timed('status --json (validate v2)', () =>
    cli(['--data-dir', dataDir, '--stages', FIXTURE, 'status', '--json']),
  );
  expect({ code: status.code, err: status.stderr }).toEqual({ code: EXIT.ok, err: '' });
  report = JSON.parse(status.stdout) as StatusReport;
});

afterAll(() => {
  console.log(`status-page timings:\n${timings.join('\n')}`);
  for (const directory of [root, project]) if (directory) rmSync(directory, { recursive: true, force: true });
});

/** One `<td>` of a page: its data attributes and title, entities decoded. */
interface PageCell {
  readonly date: string;
  readonly stage: string;
  readonly state: string;
  readonly title: string;
}

function cellsOf(html: string): PageCell[] {
  return [...html.matchAll(/<td\b([^>]*)>/g)]
    .map((match) => attributes(match[1]))
    .filter((attrs) => attrs.has('data-state'))
    .map((attrs) => ({
      date: attrs.get('data-date') ?? '',
      stage: attrs.get('data-stage') ?? '',
      state: attrs.get('data-state') ?? '',
      title: attrs.get('title') ?? '',
    }));
}

function attributes(source: string): Map<string, string> {
  return new Map([...source.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1], decodeEntities(m[2])]));
}

function decodeEntities(text: string): string {
  return text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&');
}

/** The page's cells as the report says they should be drawn. */
function expectedCells(of: StatusReport): Array<{ date: string; stage: string; state: DisplayState }> {
  return of.dates.flatMap((row) =>
    row.cells.map((cell) => ({ date: row.date, stage: cell.stage, state: displayState(of, cell) })),
  );
}

async function chromium(args: readonly string[], page: string): Promise<string> {
  if (CHROMIUM === undefined) throw new Error('no Chromium');
  const profile = mkdtempSync(join(root, 'profile-'));
  const { stdout } = await run(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--hide-scrollbars',
      '--force-device-scale-factor=1',
      `--user-data-dir=${profile}`,
      ...args,
      pathToFileURL(page).href,
    ],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

function writePage(name: string, html: string): string {
  const file = join(root, name);
  writeFileSync(file, html);
  return file;
}

function rgb(hex: string): [number, number, number] {
  const byte = (i: number) => Number.parseInt(hex.slice(i, i + 2), 16);
  return [byte(1), byte(3), byte(5)];
}

/** Screenshots `page` and checks the pixel at every cell's centre against its state's colour; returns the PNG file. */
async function checkColours(name: string, page: string, of: StatusReport): Promise<string> {
  const png = join(root, `${name}.png`);
  await timed(`chromium --screenshot (${name})`, () =>
    chromium([`--screenshot=${png}`, `--window-size=${WINDOW.width},${WINDOW.height}`], page),
  );
  const image = decodePng(readFileSync(png));
  expect({ width: image.width, height: image.height }).toEqual(WINDOW);
  const seen: string[] = [];
  const wanted: string[] = [];
  of.dates.forEach((row, r) => {
    row.cells.forEach((cell, c) => {
      const { x, y } = cellCentre(r, c);
      const [red, green, blue] = image.pixel(x, y);
      const state = displayState(of, cell);
      const [er, eg, eb] = rgb(STATE_COLOURS[state]);
      const close = Math.max(Math.abs(red - er), Math.abs(green - eg), Math.abs(blue - eb)) <= 8;
      seen.push(`${row.date} ${cell.stage} ${close ? state : `rgb(${red},${green},${blue})`}`);
      wanted.push(`${row.date} ${cell.stage} ${state}`);
    });
  });
  expect(seen).toEqual(wanted);
  // Between the grid and the page edge: white page background.
  expect(image.pixel(4, 4).slice(0, 3)).toEqual([255, 255, 255]);
  return png;
}

describe('hindsight status --html', () => {
  it('reports fresh, stale and missing cells, with recorded and code versions (status --json, extended compatibly)', () => {
    expect(report).toMatchObject({ stages: STAGES, from: '2026-03-01', to: '2026-03-06' });
    expect(report.versions).toEqual({ collect: 1, validate: 2, summarize: 1, trend: 1, report: 1 });
    expect(report.dates.map((row) => row.date)).toEqual(SHOWN_DATES);
    const missing = report.dates.find((row) => row.date === '2026-03-04');
    expect(missing?.cells.map((cell) => cell.state)).toEqual(STAGES.map(() => 'missing'));
    const first = report.dates[0];
    expect(first.startStage).toBe('validate');
    expect(first.cells[0]).toMatchObject({ stage: 'collect', state: 'fresh', recordedVersion: 1 });
    expect(first.cells[1]).toMatchObject({ stage: 'validate', state: 'stale', recordedVersion: 1 });
    expect(report.counts.fresh).toBeGreaterThan(0);
    expect(report.counts.stale).toBeGreaterThan(0);
    expect(report.counts.missing).toBeGreaterThanOrEqual(STAGES.length);
    expect(report.lease?.holder ?? null).toBeNull();
  });

  it('writes the page with --html FILE and prints "Wrote FILE"', async () => {
    const file = join(root, 'status.html');
    const result = await timed('status --html', () =>
      cli(['--data-dir', dataDir, '--stages', FIXTURE, 'status', '--html', file]),
    );
    expect(result).toEqual({ code: EXIT.ok, stdout: `Wrote ${file}`, stderr: '' });
    const html = readFileSync(file, 'utf8');
    // The page ends with the command that reruns what is stale, on what this command acted on.
    const nextCommand = `hindsight --data-dir ${dataDir} --stages ${FIXTURE} backfill --auto`;
    expect(html).toBe(renderStatusPage(report, { generatedAt: NOW, nextCommand }));
    expect(html).toContain(`<p class="next">Next: <code>${nextCommand}</code> reruns them.</p>`);
    expect(html).toContain('2026-03-07 06:30:00 UTC');
    expect(html).not.toMatch(/<script|<link|src=|url\(/i);
    const totals = statusTotals(report);
    expect(totals).toMatchObject({
      dates: SHOWN_DATES.length,
      fullRerunStageRuns: SHOWN_DATES.length * STAGES.length,
    });
    expect(html).toContain(
      `Plan: ${totals.dates} dates to rerun, ${totals.stageRuns} stage-runs; a full rerun is ${totals.fullRerunStageRuns} stage-runs.`,
    );
    expect(html).toContain('Lease: free');
  });

  it('refuses --html in a directory that does not exist, with exit 2, before opening the data directory', async () => {
    const untouched = join(root, 'never-opened');
    const result = await cli([
      '--data-dir',
      untouched,
      'status',
      '--html',
      join(root, 'no-such-dir', 'status.html'),
    ]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('--html');
    expect(result.stderr).toContain('Nothing was changed.');
    expect(existsSync(untouched)).toBe(false);
  });

  it('escapes every text from the report', () => {
    const evil = '<img src=x onerror="alert(1)">&';
    const lease: HeldLease = {
      holder: `"><script>alert(2)</script>`,
      kind: 'backfill',
      token: 9,
      expiresAt: 0,
      acquiredAt: 0,
    };
    const page = renderStatusPage({
      ...report,
      stages: [evil, ...report.stages.slice(1)],
      dates: report.dates.map((row) => ({
        ...row,
        cells: row.cells.map((cell, i) => (i === 0 ? { ...cell, stage: evil } : cell)),
      })),
      lease,
    });
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<script');
    expect(page).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;');
    expect(cellsOf(page)[0].stage).toBe(evil);
  });

  withBrowser(
    "renders in Chromium: one cell per (date, stage), with the report's states and hover text",
    async () => {
      const page = writePage('status.html', renderStatusPage(report, { generatedAt: NOW }));
      const dom = await timed('chromium --dump-dom', () => chromium(['--dump-dom'], page));
      const cells = cellsOf(dom);
      expect(cells).toHaveLength(SHOWN_DATES.length * STAGES.length);
      expect(cells.map(({ date, stage, state }) => ({ date, stage, state }))).toEqual(expectedCells(report));
      const validate = cells.find((cell) => cell.date === '2026-03-01' && cell.stage === 'validate');
      expect(validate?.title).toBe('validate: recorded v1, code v2; code changed: validate v1 → v2');
      const collect = cells.find((cell) => cell.date === '2026-03-01' && cell.stage === 'collect');
      expect(collect?.title).toBe('collect: recorded v1, code v1; fresh');
      const missing = cells.find((cell) => cell.date === '2026-03-04' && cell.stage === 'report');
      expect(missing?.title).toBe('report: not recorded, code v1; report has not run');
      expect(dom).toContain('Hindsight status');
    },
  );

  withBrowser("draws each cell in its state's colour (pixels of a screenshot)", async () => {
    const page = writePage('status.html', renderStatusPage(report, { generatedAt: NOW }));
    const png = await checkColours('status', page, report);
    if (process.env.HINDSIGHT_WRITE_SCREENSHOT === '1') {
      mkdirSync(join(REPOSITORY, 'docs'), { recursive: true });
      copyFileSync(png, join(REPOSITORY, 'docs', 'status.png'));
      console.log(`status-page: wrote ${join(REPOSITORY, 'docs', 'status.png')}`);
    }
  });

  withBrowser('draws stale cells blue (running) while a backfill holds the lease', async () => {
    const lease: HeldLease = {
      holder: 'arn:aws:states:eu-west-1:123456789012:execution:HindsightBackfill:auto-1',
      kind: 'backfill',
      token: 4,
      acquiredAt: NOW.getTime() - 60_000,
      expiresAt: NOW.getTime() + 14 * 60_000,
    };
    const backfilling: StatusReport = { ...report, lease };
    const page = writePage('backfilling.html', renderStatusPage(backfilling, { generatedAt: NOW }));
    const dom = await timed('chromium --dump-dom (backfilling)', () => chromium(['--dump-dom'], page));
    const states = cellsOf(dom).map((cell) => cell.state);
    expect(states).toEqual(expectedCells(backfilling).map((cell) => cell.state));
    expect(states).toContain('running');
    expect(states).not.toContain('stale');
    expect(dom).toContain('HindsightBackfill:auto-1 (backfill, token 4');
    await checkColours('backfilling', page, backfilling);
  });
});
