/** Words the CLI puts around numbers. */

/** `1 date`, `2 dates`: a count with its noun, plural unless it is one. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
