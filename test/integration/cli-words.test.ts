/**
 * The CLI's words, without a data directory: the progress display's last frame, the refusals'
 * command in place of the console input, and the status page's tooltips, reruns column and next
 * command.
 */
import type { CliIo } from '../../cli/io';
import { describeFailure } from '../../cli/io';
import { BackfillProgress } from '../../cli/progress';
import { describeCellReasons, renderStatusPage } from '../../cli/status-page';
import type { StatusReport } from '../../cli/status-view';
import { dateRange } from '../../lambdas/engine/dates';
import { EarlierDatesStaleError } from '../../lambdas/engine/errors';
import type { StaleReason } from '../../lambdas/engine/plan';

function capture(): { io: CliIo; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    io: {
      out: (text) => lines.push(text),
      err: (text) => lines.push(text),
      isTty: false,
      now: () => new Date(),
    },
  };
}

describe('the backfill progress', () => {
  it('ends at every date done (3/3), not at the last date started (2/3 done)', () => {
    const { io, lines } = capture();
    const progress = new BackfillProgress(io, 3);
    for (const [done, date] of [
      [0, '2026-01-01'],
      [1, '2026-01-02'],
      [2, '2026-01-03'],
    ] as const) {
      progress.update({ done, date, detail: '' });
    }
    progress.end(true);
    expect(lines).toEqual(['[1/3] 2026-01-01', '[2/3] 2026-01-02', '[3/3] 2026-01-03', '[3/3] dates done']);
  });

  it('says nothing more when the backfill failed, or when the last look already said it', () => {
    const failed = capture();
    const progress = new BackfillProgress(failed.io, 3);
    progress.update({ done: 0, date: '2026-01-01', detail: '' });
    progress.end(false);
    expect(failed.lines).toEqual(['[1/3] 2026-01-01']);

    const aws = capture();
    const followed = new BackfillProgress(aws.io, 2);
    followed.update({ done: 2, total: 2, detail: '' });
    followed.end(true);
    expect(aws.lines).toEqual(['[2/2] dates done']);
  });
});

describe('a refusal shown by the CLI', () => {
  it('names the command that starts the auto backfill, where the workflow message names the console input', () => {
    const refusal = new EarlierDatesStaleError('2026-01-15', ['2026-01-14'], ['2026-01-14 (1 date): …']);
    const shown = describeFailure(
      'Daily run for 2026-01-15',
      { status: 'FAILED', error: refusal.name, cause: refusal.message },
      'hindsight backfill --auto',
    );
    expect(refusal.message).toContain('Start the backfill {"mode": "auto"}: it reruns those dates in order');
    expect(shown).toContain(
      'Run `hindsight backfill --auto`: it reruns those dates in order, then runs 2026-01-15.',
    );
    expect(shown).not.toContain('{"mode"');
  });
});

describe('the status page', () => {
  const window = dateRange('2026-01-09', '2026-01-15');
  const planned: StaleReason[] = window.map((inputDate) => ({
    kind: 'input-stale',
    stage: 'rolling',
    input: 'aggregate',
    inputDate,
    change: 'planned',
    recordedRunId: 'r1',
    currentRunId: 'r1',
  }));

  it('says an input that reruns first on every date of its window once, with the dates it reads', () => {
    expect(describeCellReasons(planned)).toEqual([
      'input of rolling changed: aggregate reruns first (on 7 dates it reads, 2026-01-09 .. 2026-01-15)',
    ]);
    expect(describeCellReasons(planned.slice(2, 3))).toEqual([
      'input of rolling changed: aggregate reruns first (on 2026-01-11)',
    ]);
  });

  it('shows where each date reruns from, and the command to run next', () => {
    const report: StatusReport = {
      stages: ['aggregate', 'rolling'],
      versions: { aggregate: 2, rolling: 1 },
      from: '2026-01-15',
      to: '2026-01-16',
      dates: [
        {
          date: '2026-01-15',
          startStage: 'rolling',
          stages: ['rolling'],
          cells: [
            { stage: 'aggregate', state: 'fresh', reasons: [] },
            { stage: 'rolling', state: 'stale', reasons: planned },
          ],
        },
        {
          date: '2026-01-16',
          startStage: null,
          stages: [],
          cells: [
            { stage: 'aggregate', state: 'fresh', reasons: [] },
            { stage: 'rolling', state: 'fresh', reasons: [] },
          ],
        },
      ],
      counts: { fresh: 3, stale: 1, missing: 0 },
      lease: null,
      lastRuns: [],
    };

    const page = renderStatusPage(report, { nextCommand: 'hindsight backfill --auto' });

    expect(page).toContain('<th scope="col" class="reruns"');
    expect(page).toContain('>rolling on</td></tr>');
    expect(page.match(/reruns first/g)).toHaveLength(1);
    expect(page).toContain('<p class="next">Next: <code>hindsight backfill --auto</code> reruns them.</p>');
    const fresh = renderStatusPage({ ...report, dates: report.dates.slice(1) }, { nextCommand: 'x' });
    expect(fresh).toContain('Next: nothing to rerun; every date shown is fresh.');
  });
});
