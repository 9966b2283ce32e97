// Retrieval in one call, for tests: the engine runs these steps itself (it decides what to
// include from the neighbours), so src/ has no such function.
import type { Db } from '../../src/db/client.js';
import type { CandidateFilter } from '../../src/db/retrieval.js';
import {
  addIncluded,
  includedItems,
  nearestNeighbours,
  passingItems,
  type CandidateQuery,
  type RetrievalOptions,
  type RetrievedItem,
} from '../../src/retrieval/candidates.js';

/**
 * The nearest neighbours and included items of a batch of queries, each list best first: the
 * two statements of `nearestNeighbours` and `passingItems`, run at once, merged by
 * `addIncluded`.
 */
export async function retrieveCandidates(
  db: Db,
  queries: readonly CandidateQuery[],
  filter: CandidateFilter,
  options: RetrievalOptions,
): Promise<RetrievedItem[][]> {
  const [lists, passing] = await Promise.all([
    nearestNeighbours(db, queries, filter, options),
    passingItems(db, includedItems(queries, options.known), filter, options),
  ]);
  return addIncluded(lists, queries, passing, options);
}
