/**
 * `hindsight status --html FILE`: the status grid as one self-contained HTML page (inline CSS, no
 * scripts, no external resources) to open in a browser or attach to a ticket.
 *
 * Every (date, stage) is a cell coloured by state, with `data-date`, `data-stage` and `data-state`
 * attributes and a `title` (shown on hover) giving the recorded and code versions and the reasons;
 * the last column says where each date's rerun starts, and the page ends with the command to run next.
 * The grid has fixed sizes (STATUS_PAGE_LAYOUT), so a cell's position on a screenshot is known.
 *
 * "running" is an approximation: the ledger does not say which (date, stage) a backfill is on. A
 * cell is shown running when a backfill holds the lease and the cell is stale — that is, the
 * backfill is rerunning it or will before it releases the lease. Missing cells stay missing
 * (red): those are what daily runs and catch-ups are for.
 */
import { describeReason, type StaleReason } from '../lambdas/engine/plan';
import { describeReruns, type StatusCell, type StatusReport } from './status-view';

/** What a cell shows: the ledger's state, or `running` (see the module comment). */
export type DisplayState = 'fresh' | 'stale' | 'missing' | 'running';

/** Each state's background colour (sRGB hex). */
export const STATE_COLOURS: Readonly<Record<DisplayState, string>> = {
  fresh: '#2e9e4f',
  stale: '#f0a202',
  missing: '#d64545',
  running: '#2f6fd6',
};

const STATE_LABELS: Readonly<Record<DisplayState, string>> = {
  fresh: 'fresh: produced by the current code from current inputs',
  stale: 'stale: the code or an input changed since it ran',
  missing: 'missing: never ran',
  running: 'running: a backfill holds the lease and the cell is stale',
};

/** Fixed geometry of the grid, in CSS pixels from the page's top left corner. */
export const STATUS_PAGE_LAYOUT = {
  /** Left edge of the grid table. */
  gridLeft: 24,
  /** Top edge of the grid table (the header above it has exactly this height). */
  gridTop: 112,
  dateColumnWidth: 120,
  headerRowHeight: 32,
  cellWidth: 104,
  cellHeight: 28,
  /** The last column: the stage each date reruns from (or the stages it reruns). */
  rerunsColumnWidth: 200,
} as const;

/** The centre of the cell of date row `row` and stage column `column` (both from 0), in CSS pixels. */
export function cellCentre(row: number, column: number): { x: number; y: number } {
  const l = STATUS_PAGE_LAYOUT;
  return {
    x: l.gridLeft + l.dateColumnWidth + column * l.cellWidth + Math.floor(l.cellWidth / 2),
    y: l.gridTop + l.headerRowHeight + row * l.cellHeight + Math.floor(l.cellHeight / 2),
  };
}

/** What a plan of the shown dates would cost, as `plan` prints it. */
export interface StatusPageTotals {
  readonly dates: number;
  readonly stageRuns: number;
  readonly fullRerunStageRuns: number;
}

export interface StatusPageOptions {
  /** @default now */
  readonly generatedAt?: Date;
  /** @default computed from the stages each date reruns */
  readonly totals?: StatusPageTotals;
  /** The command that reruns what is stale or missing (`hindsight backfill --auto`), shown when there is any. */
  readonly nextCommand?: string;
}

/** The totals of an auto plan of the shown dates: each date reruns its stale and missing stages. */
export function statusTotals(report: StatusReport): StatusPageTotals {
  const stages = report.stages.length;
  let dates = 0;
  let stageRuns = 0;
  for (const row of report.dates) {
    if (row.startStage === null) continue;
    dates++;
    // Reports written before stage graphs have no `stages`: a date reran from its start stage on.
    stageRuns += row.stages?.length ?? stages - report.stages.indexOf(row.startStage);
  }
  return { dates, stageRuns, fullRerunStageRuns: report.dates.length * stages };
}

/** The state a cell is drawn with (see the module comment for `running`). */
export function displayState(report: StatusReport, cell: StatusCell): DisplayState {
  const backfilling =
    report.lease !== null && report.lease.holder !== null && report.lease.kind === 'backfill';
  return backfilling && cell.state === 'stale' ? 'running' : cell.state;
}

/** The whole page. All text from the report is escaped. */
export function renderStatusPage(report: StatusReport, options: StatusPageOptions = {}): string {
  const generatedAt = (options.generatedAt ?? new Date()).toISOString();
  const totals = options.totals ?? statusTotals(report);
  const range = report.from === null || report.to === null ? 'no dates' : `${report.from} .. ${report.to}`;
  const body = [
    '<header>',
    '<h1>Hindsight status</h1>',
    `<p class="meta">Generated <time datetime="${esc(generatedAt)}">${esc(generatedAt.replace('T', ' ').slice(0, 19))} UTC</time> · ${esc(range)}</p>`,
    '</header>',
    report.dates.length === 0 ? '<p class="empty">No runs yet: the ledger is empty.</p>' : grid(report),
    legend(report),
    '<section class="facts">',
    `<p class="totals">Plan: ${esc(count(totals.dates, 'date'))} to rerun, ${esc(count(totals.stageRuns, 'stage-run'))}; a full rerun is ${esc(count(totals.fullRerunStageRuns, 'stage-run'))}.</p>`,
    nextStep(totals, options.nextCommand),
    `<p class="lease">Lease: ${esc(describeLease(report))}</p>`,
    lastRuns(report),
    '</section>',
  ];
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Hindsight status · ${esc(range)}</title>`,
    `<style>${css(report.stages.length)}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function grid(report: StatusReport): string {
  const head = report.stages.map(
    (stage) => `<th scope="col" title="${esc(stageTitle(report, stage))}">${esc(stage)}</th>`,
  );
  const rows = report.dates.map((row) => {
    const cells = row.cells.map((cell) => {
      const state = displayState(report, cell);
      return (
        `<td class="${state}" data-date="${esc(row.date)}" data-stage="${esc(cell.stage)}" data-state="${state}" ` +
        `title="${esc(cellTitle(report, cell, state))}" aria-label="${esc(`${cell.stage} ${state}`)}"></td>`
      );
    });
    const reruns = describeReruns(report.stages, row);
    const start = row.startStage === null ? '' : ` title="${esc(`reruns ${reruns}`)}"`;
    return (
      `<tr><th scope="row"${start}>${esc(row.date)}</th>${cells.join('')}` +
      `<td class="reruns" title="${esc(reruns === '' ? 'fresh: nothing to rerun' : `reruns ${reruns}`)}">${esc(reruns)}</td></tr>`
    );
  });
  return [
    '<table class="grid">',
    `<thead><tr><th scope="col">date</th>${head.join('')}<th scope="col" class="reruns" title="where the next backfill starts on each date">reruns</th></tr></thead>`,
    `<tbody>${rows.join('\n')}</tbody>`,
    '</table>',
  ].join('\n');
}

function legend(report: StatusReport): string {
  const shown: DisplayState[] = ['fresh', 'stale', 'missing', 'running'];
  const items = shown.map((state) => {
    const n = state === 'running' ? null : report.counts[state];
    return `<li><span class="swatch ${state}"></span>${esc(STATE_LABELS[state])}${n === null ? '' : ` (${n})`}</li>`;
  });
  return `<ul class="legend">${items.join('')}</ul>`;
}

function lastRuns(report: StatusReport): string {
  if (report.lastRuns.length === 0) return '';
  const rows = report.lastRuns.map(
    (run) =>
      `<tr><td>${esc(run.finishedAt.replace('T', ' ').slice(0, 19))}</td><td>${esc(run.date)}</td>` +
      `<td>${esc(run.stage)}</td><td>v${esc(String(run.version))}</td><td class="num">${esc(String(run.rowsWritten))}</td></tr>`,
  );
  return (
    '<table class="runs"><caption>Last runs</caption>' +
    '<thead><tr><th>finished (UTC)</th><th>date</th><th>stage</th><th>version</th><th>rows</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

function stageTitle(report: StatusReport, stage: string): string {
  const version = report.versions?.[stage];
  return version === undefined ? stage : `${stage}: code v${version}`;
}

/** e.g. "transform: recorded v1, code v2; code changed: transform v1 → v2" (the reasons as `plan` words them). */
export function cellTitle(report: StatusReport, cell: StatusCell, state: DisplayState): string {
  const code = report.versions?.[cell.stage] ?? ownChange(cell.reasons, cell.stage)?.code ?? null;
  const recorded = recordedVersion(cell, code);
  const versions =
    cell.state === 'missing'
      ? `not recorded${code === null ? '' : `, code v${code}`}`
      : [recorded === null ? null : `recorded v${recorded}`, code === null ? null : `code v${code}`]
          .filter((part) => part !== null)
          .join(', ');
  const reasons = cell.reasons.length === 0 ? ['fresh'] : describeCellReasons(cell.reasons);
  if (state === 'running') reasons.unshift('running (a backfill holds the lease)');
  return `${cell.stage}: ${versions}; ${reasons.join('; ')}`;
}

/**
 * A cell's reasons in words, each said once: the reasons of one input that changed the same way on
 * several dates of its window (a stage reading 7 days sees 7) become one clause naming the dates
 * it reads that changed, from the first.
 */
export function describeCellReasons(reasons: readonly StaleReason[]): string[] {
  const clauses = new Map<string, { words: string; dates: string[] }>();
  for (const reason of reasons) {
    const words = describeReason(reason);
    const clause = clauses.get(words) ?? { words, dates: [] };
    if (reason.kind === 'input-stale' && !clause.dates.includes(reason.inputDate))
      clause.dates.push(reason.inputDate);
    clauses.set(words, clause);
  }
  return [...clauses.values()].map(({ words, dates }) => {
    if (dates.length === 0) return words;
    const sorted = [...dates].sort();
    const on =
      sorted.length === 1
        ? sorted[0]
        : `${sorted.length} dates it reads, ${sorted[0]} .. ${sorted[sorted.length - 1]}`;
    return `${words} (on ${on})`;
  });
}

/** What to run next: the backfill that reruns what is stale or missing. */
function nextStep(totals: StatusPageTotals, command: string | undefined): string {
  if (totals.dates === 0) return '<p class="next">Next: nothing to rerun; every date shown is fresh.</p>';
  if (command === undefined) return '';
  return `<p class="next">Next: <code>${esc(command)}</code> reruns them.</p>`;
}

function recordedVersion(cell: StatusCell, code: number | null): number | null {
  if (cell.recordedVersion !== undefined) return cell.recordedVersion;
  if (cell.state === 'missing') return null;
  return ownChange(cell.reasons, cell.stage)?.recorded ?? code;
}

function ownChange(reasons: readonly StaleReason[], stage: string) {
  for (const reason of reasons) {
    if (reason.kind !== 'code-stale') continue;
    const change = reason.changes.find((c) => c.stage === stage);
    if (change) return change;
  }
  return undefined;
}

function describeLease(report: StatusReport): string {
  const lease = report.lease;
  if (lease === null) return 'free';
  if (lease.holder === null) return `free (last token ${lease.token})`;
  return (
    `held by ${lease.holder} (${lease.kind}, token ${lease.token}, ` +
    `acquired ${new Date(lease.acquiredAt).toISOString()}, expires ${new Date(lease.expiresAt).toISOString()})`
  );
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Escapes text for HTML element content and quoted attribute values. */
export function esc(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function css(stages: number): string {
  const l = STATUS_PAGE_LAYOUT;
  const states = Object.entries(STATE_COLOURS)
    .map(([state, colour]) => `.${state}{background:${colour}}`)
    .join('');
  return [
    '*{box-sizing:border-box}',
    'html,body{margin:0;padding:0;background:#fff;color:#1d2330;font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif}',
    `header{height:${l.gridTop}px;overflow:hidden;padding:16px ${l.gridLeft}px 0}`,
    'h1{margin:0 0 8px;font-size:24px;line-height:32px}',
    '.meta{margin:0;color:#5a6375}',
    `.grid{margin:0 0 0 ${l.gridLeft}px;border-collapse:separate;border-spacing:0;table-layout:fixed;` +
      `width:${l.dateColumnWidth + stages * l.cellWidth + l.rerunsColumnWidth}px}`,
    `.grid th,.grid td{padding:0;height:${l.cellHeight}px;width:${l.cellWidth}px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}`,
    `.grid thead th{height:${l.headerRowHeight}px;font-weight:600;text-align:center}`,
    `.grid thead th:first-child,.grid tbody th{width:${l.dateColumnWidth}px;text-align:left;font-weight:400;font-variant-numeric:tabular-nums}`,
    '.grid td{border:2px solid #fff;border-radius:4px}',
    `.grid .reruns{width:${l.rerunsColumnWidth}px;padding-left:12px;text-align:left;font-weight:400;color:#5a6375}`,
    '.next code{background:#f1f3f7;padding:1px 4px;border-radius:3px}',
    states,
    '.legend{list-style:none;display:flex;flex-wrap:wrap;gap:6px 20px;margin:16px 0 0;padding:0 ' +
      `${l.gridLeft}px}`,
    '.legend li{display:flex;align-items:center;gap:6px}',
    '.swatch{display:inline-block;width:14px;height:14px;border-radius:3px}',
    `.facts{padding:0 ${l.gridLeft}px}`,
    '.runs{border-collapse:collapse;margin-top:8px}',
    '.runs caption{text-align:left;font-weight:600;padding-bottom:4px}',
    '.runs th,.runs td{padding:2px 12px 2px 0;text-align:left;font-variant-numeric:tabular-nums}',
    '.runs .num{text-align:right}',
    `.empty{margin:0 ${l.gridLeft}px}`,
  ].join('\n');
}
