// The names of the Amazon data (Beauty only): product titles (`<Name>_item_text.tsv`), the
// names of the attribute ids (`<Name>_attribute_names.tsv`), and which attribute ids are
// brands and which are categories, with each category's parent.
//
// The source does not mark brands. Each item's attribute list is an optional brand followed by
// one category path, root first (`Maybelline, Makeup, Eyes, Mascara`). So an attribute that
// ever follows another one in a list sits inside a path and is a category; one that only ever
// opens a list and is followed by a category is a brand. On Beauty this gives 435 brands (each
// item has at most one) and 202 categories under six roots (Skin Care, Hair Care, Makeup,
// Tools & Accessories, Bath & Body, Fragrance). A category name is one id even where Amazon's
// tree has it under several parents (`Face` under Skin Care and under Makeup): its parent is
// the category it follows most often (ties: the lower id), skipping any that would close a
// cycle. Brands stay linked to their items as attributes (the trained model reads all 637), as
// roots named after the brand; `Item.brand` carries the name.
import { readFile } from 'node:fs/promises';

/** An attribute id's role and, for a category, its parent attribute id. */
export interface AttributeRoles {
  brands: Set<number>;
  /** Category attribute id → parent category attribute id (null for a root). */
  parents: Map<number, number | null>;
}

/** Tells brands from categories in the item → attribute lists (see the module comment). */
export function attributeRoles(lists: Iterable<readonly number[]>): AttributeRoles {
  const follows = new Map<number, Map<number, number>>(); // attribute → predecessor → count
  const seen = new Set<number>();
  for (const list of lists) {
    list.forEach((a, i) => {
      seen.add(a);
      if (i === 0) return;
      const prev = list[i - 1] as number;
      if (prev === a) return; // a name repeated in a list says nothing about the tree
      let m = follows.get(a);
      if (!m) follows.set(a, (m = new Map()));
      m.set(prev, (m.get(prev) ?? 0) + 1);
    });
  }
  const brands = new Set([...seen].filter((a) => !follows.has(a)));
  // An attribute that only opens lists but is never followed by anything is a root category
  // with no brand in front of it, not a brand: brands are always followed by a category.
  const followed = new Set<number>();
  for (const m of follows.values()) for (const prev of m.keys()) followed.add(prev);
  for (const b of brands) if (!followed.has(b)) brands.delete(b);

  const parents = new Map<number, number | null>();
  for (const a of [...seen].sort((x, y) => x - y)) if (!brands.has(a)) parents.set(a, null);
  const ancestorOf = (a: number, candidate: number): boolean => {
    for (let p: number | null | undefined = a; p != null; p = parents.get(p))
      if (p === candidate) return true;
    return false;
  };
  // Strongest links first, so a rare link cannot take a parent place a frequent one needs.
  const links: { a: number; parent: number; n: number }[] = [];
  for (const [a, m] of follows)
    for (const [prev, n] of m) if (!brands.has(prev)) links.push({ a, parent: prev, n });
  links.sort((x, y) => y.n - x.n || x.a - y.a || x.parent - y.parent);
  const placed = new Set<number>();
  for (const { a, parent } of links) {
    if (placed.has(a) || ancestorOf(parent, a)) continue;
    parents.set(a, parent);
    placed.add(a);
  }
  return { brands, parents };
}

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
