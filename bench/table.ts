/** A small fixed-width table printer shared by every section of the benchmark. */

export interface Column {
  readonly header: string;
  /** Numbers read best right-aligned; names left. @default 'right' */
  readonly align?: 'left' | 'right';
}

/** Formats `rows` under `columns` as fixed-width text, with a title line and a rule under the headers. */
export function formatTable(
  title: string,
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
): string {
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) =>
        (columns[i]?.align ?? 'right') === 'left' ? cell.padEnd(widths[i]) : cell.padStart(widths[i]),
      )
      .join('  ')
      .trimEnd();
  return [
    title,
    line(columns.map((column) => column.header)),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map(line),
  ].join('\n');
}

/** Milliseconds with a precision that suits their size. */
export function ms(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** A ratio as `1.23x`. */
export function ratio(value: number): string {
  return `${value.toFixed(2)}x`;
}

/** A whole number with thousands separators. */
export function int(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Dollars with enough digits to show a fraction of a cent. */
export function usd(value: number): string {
  return value >= 1 ? `$${value.toFixed(2)}` : `$${value.toFixed(5)}`;
}

/** A share as a percentage. */
export function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}
