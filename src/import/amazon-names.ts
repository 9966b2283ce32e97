// The names of the Amazon data (Beauty only): product titles (`<Name>_item_text.tsv`), the
// names of the attribute ids (`<Name>_attribute_names.tsv`), and which attribute ids are
// brands and which are categories, with each category's parent.
//
// The source does not mark brands. Each item's attribute list is an optional brand followed by
// one category path, root first (`Maybelline, Makeup, Eyes, Mascara`). So an attribute that
// ever follows another one in a list sits inside a path and is a category; one that only ever
// opens a list and is followed only by root categories (which open other lists) is a brand. On Beauty this gives 435 brands (each
// item has at most one) and 202 categories under six roots (Skin Care, Hair Care, Makeup,
// Tools & Accessories, Bath & Body, Fragrance). A category name is one id even where Amazon's
// tree has it under several parents (`Face` under Skin Care and under Makeup): its parent is
// what it follows most often, opening the path (first, or right after a brand) counting as
// being a root (ties: the lower id), skipping a parent that would close a cycle. A brand named
// `Unknown` in the source is no brand. Brands stay linked to their items as attributes (the
// trained model reads all 637), as roots named after the brand; `Item.brand` has the name.
import { readFile } from 'node:fs/promises';

const ROOT = 0; // attribute ids start at 1

/** An attribute id's role and, for a category, its parent attribute id. */
export interface AttributeRoles {
  brands: Set<number>;
  /** Category attribute id → parent category attribute id (null for a root). */
  parents: Map<number, number | null>;
}

/** Tells brands from categories in the item → attribute lists (see the module comment). */
export function attributeRoles(lists: Iterable<readonly number[]>): AttributeRoles {
  // attribute → what came right before it in a list → how often (ROOT: nothing)
  const before = new Map<number, Map<number, number>>();
  const tally = (a: number, prev: number) => {
    let m = before.get(a);
    if (!m) before.set(a, (m = new Map()));
    m.set(prev, (m.get(prev) ?? 0) + 1);
  };
  const all: (readonly number[])[] = [];
  for (const list of lists) {
    all.push(list);
    list.forEach((a, i) => {
      const prev = i === 0 ? ROOT : (list[i - 1] as number);
      if (prev !== a) tally(a, prev); // a name repeated in a list says nothing about the tree
    });
  }
  // Brands: only ever first, and followed only by what opens other lists (a root category). A
  // root that no brand precedes is followed by its children, which open no list.
  const next = new Map<number, Set<number>>();
  for (const list of all)
    list.slice(0, -1).forEach((a, i) => {
      const s = next.get(a) ?? new Set<number>();
      next.set(a, s.add(list[i + 1] as number));
    });
  const opens = (a: number) => before.get(a)?.has(ROOT) === true;
  const brands = new Set<number>();
  for (const [a, m] of before) {
    const after = next.get(a);
    if (m.size === 1 && opens(a) && after && [...after].every(opens)) brands.add(a);
  }

  // A category's parent: what it follows most often, where opening the path (first, or right
  // after a brand) counts for being a root.
  const links: { a: number; parent: number; n: number }[] = [];
  for (const [a, m] of before) {
    if (brands.has(a)) continue;
    const votes = new Map<number, number>();
    for (const [prev, n] of m) {
      const p = brands.has(prev) ? ROOT : prev;
      votes.set(p, (votes.get(p) ?? 0) + n);
    }
    for (const [parent, n] of votes) links.push({ a, parent, n });
  }
  // Strongest votes first; a parent that would make a category its own ancestor is skipped.
  links.sort((x, y) => y.n - x.n || x.a - y.a || x.parent - y.parent);
  const parents = new Map<number, number | null>();
  const ancestorOf = (start: number, candidate: number): boolean => {
    for (let p: number | null | undefined = start; p != null; p = parents.get(p))
      if (p === candidate) return true;
    return false;
  };
  for (const { a, parent } of links) {
    if (parents.has(a)) continue;
    if (parent === ROOT) parents.set(a, null);
    else if (!ancestorOf(parent, a)) parents.set(a, parent);
  }
  for (const a of before.keys()) if (!brands.has(a) && !parents.has(a)) parents.set(a, null);
  return { brands, parents };
}

/** The brand names the source uses for "no brand known". */
export const NO_BRAND = new Set(['Unknown']);

const NAMED: Record<string, string> = {
  amp: '&',
  quot: '"',
  apos: "'",
  lt: '<',
  gt: '>',
  nbsp: ' ',
  reg: '®',
  trade: '™',
  copy: '©',
  deg: '°',
  bull: '•',
  hearts: '♥',
  frac12: '½',
  ordm: 'º',
  egrave: 'è',
  eacute: 'é',
  Eacute: 'É',
  ccedil: 'ç',
};
// Numeric references 128–159 in this data are Windows-1252 bytes (`&#153;` for ™).
const CP1252: Record<number, string> = { 146: '’', 150: '–', 151: '—', 153: '™' };

/** Decodes the HTML character references left in the source text (`L&#39;Oreal` → L'Oreal). */
export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z][a-z0-9]*);/gi, (whole, ref: string) => {
    if (ref[0] !== '#') return NAMED[ref] ?? whole;
    const code =
      ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : Number(ref.slice(1));
    if (CP1252[code]) return CP1252[code];
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

/**
 * Reads a names file: a header line, then `id<TAB>text[<TAB>…]` lines. `column` is the header
 * name of the text column. Returns id → decoded text, empty texts left out.
 */
export async function readNames(file: string, column: string): Promise<Map<number, string>> {
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/);
  const header = (lines[0] ?? '').split('\t');
  const at = header.indexOf(column);
  if (at < 1) throw new Error(`${file}: expected a tab-separated header with "${column}"`);
  const names = new Map<number, string>();
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const cells = line.split('\t');
    const id = Number(cells[0]);
    const text = decodeEntities(cells[at] ?? '').trim();
    if (Number.isInteger(id) && id > 0 && text !== '') names.set(id, text);
  }
  return names;
}
