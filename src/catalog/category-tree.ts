// A shop's category tree: checked writes of a batch of categories (no cycle, known parents,
// names unique among siblings, all or nothing) and name paths (`Women > Shoes`) resolved within
// a dataset, created on request. Both run under the dataset's tree lock, so concurrent writes
// cannot together break what each checked. Used by the catalogue mutations and the importer.
import { createHash } from 'node:crypto';
import type { Queryable } from '../db/client.js';
import {
  categoriesNamed,
  categoryAncestry,
  childrenOf,
  existingCategoryIds,
  lockCategoryTree,
  upsertCategories,
  type CategoryRow,
} from '../db/categories.js';
import { badUserInput } from '../errors.js';

/** Longest category name; the separator of name paths may not occur in one. */
export const MAX_CATEGORY_NAME_LENGTH = 200;
export const PATH_SEPARATOR = '>';
/** Longest id the tree creates for a name path before it falls back to a hashed id. */
const MAX_CREATED_ID_LENGTH = 200;

/** What is wrong with `name` as a category name, or null. */
export function categoryNameProblem(name: string): string | null {
  if (name.trim() === '') return 'must not be empty';
  if (name !== name.trim()) return 'must not start or end with white space';
  if (name.length > MAX_CATEGORY_NAME_LENGTH)
    return `at most ${MAX_CATEGORY_NAME_LENGTH} characters, got ${name.length}`;
  if (name.includes(PATH_SEPARATOR))
    return `must not contain "${PATH_SEPARATOR}" (it separates the names of a path)`;
  return null;
}

/** The stored rows of a tree write, in the order given, and how many were new. */
export interface TreeWrite {
  rows: CategoryRow[];
  created: number;
}

/**
 * Creates or replaces `categories` of `dataset` (ids already checked to be of it) as one
 * all-or-nothing change: a parent is a stored category or one of the batch (in any order), no
 * category becomes its own ancestor, and no two siblings share a name once the batch is applied.
 * A refusal names `${at}[i].<field>` of the first category at fault.
 */
export async function writeCategoryTree(
  tx: Queryable,
  dataset: string,
  categories: CategoryRow[],
  at = 'categories',
): Promise<TreeWrite> {
  await lockCategoryTree(tx, dataset);
  const field = (i: number, name: string) => `${at}[${i}].${name}`;
  const batch = new Map<string, number>();
  categories.forEach((c, i) => {
    const earlier = batch.get(c.id);
    if (earlier !== undefined)
      throw badUserInput(field(i, 'id'), `"${c.id}" is also ${at}[${earlier}]: one entry per id`);
    batch.set(c.id, i);
  });

  // Parents outside the batch must exist; their stored ancestry is what a cycle could run through.
  const outside = [
    ...new Set(
      categories.flatMap((c) => (c.parentId && !batch.has(c.parentId) ? [c.parentId] : [])),
    ),
  ];
  const storedParent = new Map<string, string | null>();
  for (const r of await categoryAncestry(tx, outside)) storedParent.set(r.id, r.parentId);
  categories.forEach((c, i) => {
    if (c.parentId && !batch.has(c.parentId) && !storedParent.has(c.parentId))
      throw badUserInput(field(i, 'parentId'), `unknown category "${c.parentId}"`);
  });

  const parentOf = (id: string): string | null => {
    const i = batch.get(id);
    return i !== undefined
      ? (categories[i] as CategoryRow).parentId
      : (storedParent.get(id) ?? null);
  };
  categories.forEach((c, i) => {
    const chain = [c.id];
    for (let p = c.parentId; p !== null; p = parentOf(p)) {
      chain.push(p);
      if (p === c.id)
        throw badUserInput(
          field(i, 'parentId'),
          `"${c.id}" would be its own ancestor (${chain.join(' → ')})`,
        );
      if (chain.length > storedParent.size + batch.size + 1) break; // a stored cycle elsewhere
    }
  });

  // Names unique among siblings, once the batch is applied.
  const parents = [...new Set(categories.flatMap((c) => (c.parentId ? [c.parentId] : [])))];
  const roots = categories.some((c) => c.parentId === null);
  const siblings = await childrenOf(tx, dataset, parents, roots, [...batch.keys()]);
  const holder = new Map<string, string>();
  const key = (parentId: string | null, name: string) => `${parentId ?? ''}\u0000${name}`;
  for (const s of siblings) holder.set(key(s.parentId, s.name), s.id);
  categories.forEach((c, i) => {
    const k = key(c.parentId, c.name);
    const other = holder.get(k);
    if (other !== undefined)
      throw badUserInput(
        field(i, 'name'),
        `"${c.name}" is already the name of "${other}" ${
          c.parentId ? `under "${c.parentId}"` : `among the roots of "${dataset}"`
        }: names are unique among siblings`,
      );
    holder.set(k, c.id);
  });

  const existing = await existingCategoryIds(tx, [...batch.keys()]);
  await upsertCategories(tx, categories);
  return { rows: categories, created: categories.length - existing.size };
}

/** The names of a path (`Women > Shoes` → [Women, Shoes]), or what is wrong with it. */
export function parseCategoryPath(path: string): { names: string[] } | { problem: string } {
  const names = path.split(PATH_SEPARATOR).map((n) => n.trim());
  const bad = names.findIndex((n) => categoryNameProblem(n) !== null);
  if (bad >= 0)
    return {
      problem: `name ${bad + 1} of the path "${path}" ${categoryNameProblem(names[bad] as string)}`,
    };
  return { names };
}

/** A name path to resolve, and the field that gave it (for refusals). */
export interface PathRequest {
  path: string;
  field: string;
}

/**
 * Resolves name paths within `dataset` to the ids of their last categories (by path, as given).
 * A category a path names that does not exist is created when `create` (under its parent, at
 * position 0, with an id derived from its parent's id and its name) and refused otherwise,
 * naming the request's field. Returns the ids and the categories created.
 */
export async function resolveCategoryPaths(
  tx: Queryable,
  dataset: string,
  requests: PathRequest[],
  create: boolean,
): Promise<{ ids: Map<string, string>; created: CategoryRow[] }> {
  const parsed = requests.map((r) => {
    const p = parseCategoryPath(r.path);
    if ('problem' in p) throw badUserInput(r.field, p.problem);
    return { ...r, names: p.names };
  });
  if (parsed.length === 0) return { ids: new Map(), created: [] };
  // Read under the lock when it may write: what it reads is then what it writes against.
  if (create) await lockCategoryTree(tx, dataset);
  const known = new Map<string, string>(); // parent + name → id (the lowest id, if stored twice)
  const key = (parentId: string | null, name: string) => `${parentId ?? ''}\u0000${name}`;
  const names = [...new Set(parsed.flatMap((p) => p.names))];
  for (const c of await categoriesNamed(tx, dataset, names)) {
    const k = key(c.parentId, c.name);
    if (!known.has(k)) known.set(k, c.id);
  }

  // Depth by depth: a created category's id derives from its parent's, settled one level up.
  const walks = parsed.map((p) => ({ p, parentId: null as string | null }));
  const created: CategoryRow[] = [];
  const depth = Math.max(...parsed.map((p) => p.names.length));
  for (let d = 0; d < depth; d++) {
    const wanted = new Map<string, CategoryRow>();
    const derived = new Set<string>();
    for (const { p, parentId } of walks) {
      const name = p.names[d];
      if (name === undefined || known.has(key(parentId, name)) || wanted.has(key(parentId, name)))
        continue;
      if (!create)
        throw badUserInput(
          p.field,
          `no category "${name}" ${parentId ? `under "${parentId}"` : 'among the roots'} of ` +
            `dataset "${dataset}" (path "${p.path}"); set createCategories to create it`,
        );
      let id = derivedId(dataset, parentId, name);
      if (derived.has(id)) id = hashedId(dataset, parentId, name);
      derived.add(id);
      wanted.set(key(parentId, name), { id, dataset, name, parentId, position: 0 });
    }
    // A derived id may be taken (a category renamed since, or one the shop named so): hashed.
    const rows = [...wanted.values()];
    const taken = await existingCategoryIds(
      tx,
      rows.map((r) => r.id),
    );
    for (const [k, r] of wanted) {
      if (taken.has(r.id)) r.id = hashedId(dataset, r.parentId, r.name);
      known.set(k, r.id);
    }
    await upsertCategories(tx, rows);
    created.push(...rows);
    for (const w of walks) {
      const name = w.p.names[d];
      if (name !== undefined) w.parentId = known.get(key(w.parentId, name)) as string;
    }
  }
  return { ids: new Map(walks.map((w) => [w.p.path, w.parentId as string])), created };
}

/** The id a created category gets: `<dataset>:<name>` for a root, `<parent id>/<name>` below. */
function derivedId(dataset: string, parentId: string | null, name: string): string {
  const id = parentId === null ? `${dataset}:${name}` : `${parentId}/${name}`;
  return id.length <= MAX_CREATED_ID_LENGTH ? id : hashedId(dataset, parentId, name);
}

function hashedId(dataset: string, parentId: string | null, name: string): string {
  const h = createHash('sha256')
    .update(`${parentId ?? ''}\u0000${name}`)
    .digest('hex');
  return `${dataset}:~${h.slice(0, 24)}`;
}
