/**
 * The one PostgreSQL lexer Hindsight needs: where string literals (standard and E'…'), quoted
 * identifiers, comments (nested block comments included) and dollar-quoted bodies end. Splitting
 * migrations into statements and rewriting `$n` placeholders for the Data API both skip those.
 */

/** End of the string literal, quoted identifier, comment or dollar-quoted body starting at `i`, else `i`. */
export function skipLiteralOrComment(text: string, i: number): number {
  const char = text[i];
  const next = text[i + 1];
  if (char === '-' && next === '-') {
    const end = text.indexOf('\n', i + 2);
    return end === -1 ? text.length : end + 1;
  }
  if (char === '/' && next === '*') return skipBlockComment(text, i);
  if (char === "'") {
    // E'...' strings take backslash escapes; standard strings only the doubled quote.
    const escapes = (text[i - 1] === 'E' || text[i - 1] === 'e') && !isIdentifierChar(text[i - 2]);
    return skipQuoted(text, i, "'", escapes);
  }
  if (char === '"') return skipQuoted(text, i, '"', false);
  if (char === '$' && !isIdentifierChar(text[i - 1])) {
    const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(text.slice(i, i + 130));
    if (tag) {
      const end = text.indexOf(tag[0], i + tag[0].length);
      return end === -1 ? text.length : end + tag[0].length;
    }
  }
  return i;
}

/** True for characters that continue an identifier (so `a$1` is no placeholder and `x$$` no dollar quote). */
export function isIdentifierChar(char: string | undefined): boolean {
  return char !== undefined && /[\p{L}\p{N}_$]/u.test(char);
}

function skipQuoted(text: string, start: number, quote: string, backslashEscapes: boolean): number {
  let j = start + 1;
  while (j < text.length) {
    if (backslashEscapes && text[j] === '\\') j += 2;
    else if (text[j] === quote && text[j + 1] === quote) j += 2;
    else if (text[j] === quote) return j + 1;
    else j++;
  }
  return text.length;
}

/** PostgreSQL block comments nest. */
function skipBlockComment(text: string, start: number): number {
  let depth = 0;
  let j = start;
  while (j < text.length) {
    if (text.startsWith('/*', j)) {
      depth++;
      j += 2;
    } else if (text.startsWith('*/', j)) {
      depth--;
      j += 2;
      if (depth === 0) return j;
    } else j++;
  }
  return text.length;
}

/**
 * Splits a SQL script into statements at top-level semicolons. Migrations run one statement
 * per call because the Data API and PGlite's extended protocol take one statement at a time.
 * Semicolons inside literals, comments and dollar-quoted bodies do not split; a statement that is
 * only comments is dropped.
 */
export function splitSqlStatements(script: string): string[] {
  const statements: string[] = [];
  let current = '';
  let hasCode = false;
  let i = 0;
  while (i < script.length) {
    const skipped = skipLiteralOrComment(script, i);
    if (skipped > i) {
      const piece = script.slice(i, skipped);
      current += piece;
      if (!piece.startsWith('--') && !piece.startsWith('/*')) hasCode = true;
      i = skipped;
      continue;
    }
    const char = script[i];
    if (char === ';') {
      if (hasCode) statements.push(current.trim());
      current = '';
      hasCode = false;
    } else {
      current += char;
      if (!/\s/.test(char)) hasCode = true;
    }
    i++;
  }
  if (hasCode) statements.push(current.trim());
  return statements;
}
