/**
 * Splits a SQL script into statements at top-level semicolons. Migrations run one statement
 * per call because the Data API and PGlite's extended protocol take one statement at a time.
 * Semicolons inside quotes, comments and dollar-quoted bodies do not split.
 */
export function splitSqlStatements(script: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  while (i < script.length) {
    const rest = script.slice(i);
    const skipped = quotedOrComment(rest);
    if (skipped > 0) {
      current += rest.slice(0, skipped);
      i += skipped;
      continue;
    }
    const char = script[i];
    if (char === ';') {
      pushStatement(statements, current);
      current = '';
    } else {
      current += char;
    }
    i++;
  }
  pushStatement(statements, current);
  return statements;
}

function pushStatement(statements: string[], text: string): void {
  const withoutComments = text.replace(/--[^\n]*/g, '').trim();
  if (withoutComments.length > 0) statements.push(text.trim());
}

/** Length of the quoted literal, identifier, comment or dollar-quoted body starting `text`, else 0. */
function quotedOrComment(text: string): number {
  if (text.startsWith('--')) {
    const end = text.indexOf('\n');
    return end === -1 ? text.length : end + 1;
  }
  if (text.startsWith('/*')) {
    const end = text.indexOf('*/', 2);
    return end === -1 ? text.length : end + 2;
  }
  const quote = text[0];
  if (quote === "'" || quote === '"') {
    let j = 1;
    while (j < text.length) {
      if (text[j] === quote) {
        if (text[j + 1] === quote) j += 2;
        else return j + 1;
      } else j++;
    }
    return text.length;
  }
  const dollar = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text);
  if (dollar) {
    const end = text.indexOf(dollar[0], dollar[0].length);
    return end === -1 ? text.length : end + dollar[0].length;
  }
  return 0;
}
