// Keyset ("cursor") paging in SQL, both directions, for whole tables and — with one window
// function — for many parents at once (a page of events for each of N users in one statement).

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
export function planPage(ks: Keyset, req: PageRequest, params: unknown[], alias = ''): PagePlan {
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

export function finishPage<R>(rows: R[], req: PageRequest, plan: PagePlan): Page<R> {
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

/** Groups rows fetched for many parents (by `parentOf`) into one page per parent, in order. */
export function pagesByParent<R>(
  parents: readonly string[],
  rows: R[],
  parentOf: (r: R) => string,
  req: PageRequest,
  plan: PagePlan,
): Page<R>[] {
  const byParent = new Map<string, R[]>();
  for (const r of rows) {
    const p = parentOf(r);
    const list = byParent.get(p);
    if (list) list.push(r);
    else byParent.set(p, [r]);
  }
  return parents.map((p) => finishPage(byParent.get(p) ?? [], req, plan));
}

/** SQL for a page of `table` rows for each parent in $1 (a text[]), in one statement. */
export function partitionedPageSql(opts: {
  select: string;
  from: string;
  parentColumn: string;
  conditions: string[];
  orderBy: string;
  fetch: number;
}): string {
  const where = [`${opts.parentColumn} = ANY($1::text[])`, ...opts.conditions].join(' AND ');
  return `SELECT * FROM (
      SELECT ${opts.select}, row_number() OVER (PARTITION BY ${opts.parentColumn} ORDER BY ${opts.orderBy}) AS rn__
      FROM ${opts.from} WHERE ${where}
    ) AS paged WHERE rn__ <= ${Math.trunc(opts.fetch)} ORDER BY rn__`;
}
