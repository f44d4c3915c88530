/**
 * Text parsers for the PostgreSQL wire types whose JS shape differs between drivers.
 * PGlite and node-postgres both accept a map of type OID → parser; using the same map for both
 * is what makes a stage see one shape (see the contract in engine/sql.ts).
 */
export const PG_TYPE = {
  INT8: 20,
  NUMERIC: 1700,
  DATE: 1082,
  TIMESTAMP: 1114,
  TIMESTAMPTZ: 1184,
} as const;

/** INT8 as a number: counts and row totals, far below 2^53; refuse silently losing precision. */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value))
    throw new RangeError(`BIGINT ${text} does not fit a JavaScript number exactly`);
  return value;
}

/** TIMESTAMP (without zone) is read as UTC, the zone Hindsight's sessions use. */
export function parseTimestamp(text: string): string {
  return new Date(`${text.replace(' ', 'T')}Z`).toISOString();
}

export function parseTimestampTz(text: string): string {
  // PostgreSQL prints offsets as +00 or +05:30; Date.parse wants +00:00.
  const normalised = text.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00');
  return new Date(normalised).toISOString();
}

const keep = (text: string): string => text;

/** Parser per type OID. JSON/JSONB keep each driver's default, which already parses. */
export const PG_PARSERS: Record<number, (text: string) => unknown> = {
  [PG_TYPE.INT8]: parseInt8,
  [PG_TYPE.NUMERIC]: keep,
  [PG_TYPE.DATE]: keep,
  [PG_TYPE.TIMESTAMP]: parseTimestamp,
  [PG_TYPE.TIMESTAMPTZ]: parseTimestampTz,
};
