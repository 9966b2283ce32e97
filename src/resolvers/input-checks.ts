// What every resolver shares beyond the input rules (src/input-rules.ts): the rows a field
// points at.
import { notFound } from '../errors.js';

/** The row a non-null field points at, or NOT_FOUND naming it (e.g. `category beauty:a1`). */
export async function found<R>(row: Promise<R | null>, what: string): Promise<R> {
  const r = await row;
  if (!r) throw notFound(what);
  return r;
}
