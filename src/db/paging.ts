// Keyset ("cursor") paging in SQL, both directions, for whole tables and — with one window
// function — for many parents at once (a page of events for each of N users in one statement).
import type { Queryable } from './client.js';

/** The ordered, unique sort key of a listing, e.g. events by (seq, id) newest first. */
export interface Keyset {
  columns: string[];
  /** SQL types of the key columns, used to cast cursor values. */
  types: string[];
  direction: 'asc' | 'desc';
}

/** Exactly one of `first` / `last` is set; cursors are decoded key tuples. */
export interface PageRequest {
  first?: number;
  after?: unknown[];
  last?: number;
  before?: unknown[];
}

export interface Page<R> {
  rows: R[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

interface PagePlan {
  conditions: string[];
  orderBy: string;
  fetch: number;
  forward: boolean;
}

/** Adds the cursor conditions to `params` and returns the pieces of the SELECT. */
function planPage(ks: Keyset, req: PageRequest, params: unknown[], alias = ''): PagePlan {
  const forward = req.last === undefined;
  const size = (forward ? req.first : req.last) ?? 0;
  const cols = ks.columns.map((c) => alias + c);
  const tuple = `(${cols.join(', ')})`;
  const compare = (cursor: unknown[], op: string) => {
    const placeholders = ks.columns.map((_, i) => {
      params.push(cursor[i]);
      return `$${params.length}::${ks.types[i]}`;
    });
    return `${tuple} ${op} (${placeholders.join(', ')})`;
  };
  const asc = ks.direction === 'asc';
  const conditions: string[] = [];
  if (req.after) conditions.push(compare(req.after, asc ? '>' : '<'));
  if (req.before) conditions.push(compare(req.before, asc ? '<' : '>'));
  // Backward pages are read in reverse from the `before` end, then flipped back.
  const dir = asc === forward ? 'ASC' : 'DESC';
  return {
    conditions,
    orderBy: cols.map((c) => `${c} ${dir}`).join(', '),
    fetch: size + 1, // one extra row tells whether another page exists
    forward,
  };
}

function finishPage<R>(rows: R[], req: PageRequest, plan: PagePlan): Page<R> {
  const size = plan.fetch - 1;
  const more = rows.length > size;
  const page = rows.slice(0, size);
  if (!plan.forward) page.reverse();
  return {
    rows: page,
    // Beyond the cursor we came from there is at least that cursor's row.
    hasNextPage: plan.forward ? more : req.before !== undefined,
    hasPreviousPage: plan.forward ? req.after !== undefined : more,
  };
}

/** One page of a listing: `where` are SQL conditions over `params` ($1…), cursor conditions
 * are added here. */
export async function selectPage<R>(
  q: Queryable,
  opts: { select: string; from: string; where: string[]; params: unknown[]; keyset: Keyset },
  req: PageRequest,
): Promise<Page<R>> {
  const params = [...opts.params];
  const plan = planPage(opts.keyset, req, params);
  const where = [...opts.where, ...plan.conditions];
  const { rows } = await q.query<R>(
    `SELECT ${opts.select} FROM ${opts.from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY ${plan.orderBy} LIMIT ${plan.fetch}`,
    params,
  );
  return finishPage(rows, req, plan);
}

/** The same page (same arguments) of child rows for each of `parentIds`, in one statement:
 * a window function numbers each parent's rows and keeps the first `size + 1`. */
export async function selectPagesOfParents<R>(
  q: Queryable,
  opts: {
    select: string;
    from: string;
    parentColumn: string;
    keyset: Keyset;
    parentOf: (r: R) => string | null;
  },
  parentIds: readonly string[],
  req: PageRequest,
): Promise<Page<R>[]> {
  const params: unknown[] = [parentIds];
  const plan = planPage(opts.keyset, req, params);
  const where = [`${opts.parentColumn} = ANY($1::text[])`, ...plan.conditions].join(' AND ');
  const { rows } = await q.query<R>(
    `SELECT * FROM (
       SELECT ${opts.select},
         row_number() OVER (PARTITION BY ${opts.parentColumn} ORDER BY ${plan.orderBy}) AS rn__
       FROM ${opts.from} WHERE ${where}
     ) AS paged WHERE rn__ <= ${plan.fetch} ORDER BY rn__`,
    params,
  );
  const byParent = new Map<string, R[]>();
  for (const r of rows) {
    const p = opts.parentOf(r) ?? '';
    const list = byParent.get(p);
    if (list) list.push(r);
    else byParent.set(p, [r]);
  }
  return parentIds.map((p) => finishPage(byParent.get(p) ?? [], req, plan));
}
