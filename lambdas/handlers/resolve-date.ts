import { resolveDate } from '../workflow/steps';

/** "Resolve Date": needs no database, so it builds no clients. */
export const handler = async (event: unknown) => resolveDate({ now: () => new Date() }, event);
