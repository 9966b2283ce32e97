// Checks of resolver arguments that every resolver shares: id lengths and rows a field points at.
import { badUserInput, notFound } from '../errors.js';

/** Longest id a client may give (items, users, sessions, events): ids are btree-indexed, and
 * PostgreSQL refuses an index row over ~2.7 kB. */
export const MAX_ID_LENGTH = 200;

/** BAD_USER_INPUT naming `field` when `value` is longer than MAX_ID_LENGTH (or `max`). */
export function checkLength(field: string, value: string | null | undefined, max = MAX_ID_LENGTH) {
  if (value && value.length > max)
    throw badUserInput(field, `at most ${max} characters, got ${value.length}`);
}

/** The row a non-null field points at, or NOT_FOUND naming it (e.g. `category beauty:a1`). */
export async function found<R>(row: Promise<R | null>, what: string): Promise<R> {
  const r = await row;
  if (!r) throw notFound(what);
  return r;
}
