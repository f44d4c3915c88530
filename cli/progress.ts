/** Dates done of planned, with the current date and step: a bar on a terminal, a line per change otherwise. */
import { SingleBar } from 'cli-progress';
import type { CliIo } from './io';
import type { BackfillProgressUpdate } from './target';

export class BackfillProgress {
  private bar: SingleBar | undefined;
  private last = '';

  constructor(
    private readonly io: CliIo,
    private total: number,
  ) {
    if (io.isTty) {
      this.bar = new SingleBar({
        format: ' {bar} {value}/{total} dates | {date} {detail}',
        stream: process.stderr,
        hideCursor: true,
      });
      this.bar.start(total, 0, { date: '', detail: '' });
    }
  }

  update({ done, total, date, detail }: BackfillProgressUpdate): void {
    if (total !== undefined && total > 0 && total !== this.total) {
      this.total = total;
      this.bar?.setTotal(total);
    }
    this.bar?.update(done, { date: date ?? '', detail });
    if (this.bar) return;
    // Piped: one line when a date starts (locally) or when the count of dates done changes (AWS).
    const line =
      date === undefined
        ? `[${done}/${this.total}] dates done${detail ? ` (${detail})` : ''}`
        : `[${done + 1}/${this.total}] ${date}`;
    if (line !== this.last) this.io.out(line);
    this.last = line;
  }

  /**
   * Stops the display. After a backfill that succeeded, its last frame shows every date done
   * (`30/30`): the updates come as each date starts, so none says the last one finished.
   */
  end(succeeded: boolean): void {
    if (succeeded) {
      const line = `[${this.total}/${this.total}] dates done`;
      if (this.bar) this.bar.update(this.total, { date: '', detail: 'done' });
      else if (this.last !== line) this.io.out(line);
      this.last = line;
    }
    this.bar?.stop();
  }
}
