// Persisted-operation allow-list (OPERATION_ALLOW_LIST): the operations of .graphql files a
// storefront may run, each with the fragments it uses (from any of the files) as one document,
// as a client sends it. A request matches when its document, normalised (printed, operations first, then
// fragments by name: whitespace, comments and fragment order do not matter), equals a listed
// one. A client may also send only the SHA-256 of the normalised text as an automatic persisted
// query (`extensions.persistedQuery.sha256Hash`); the gateway then fills in the listed text.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  Kind,
  parse,
  print,
  visit as graphqlVisit,
  type ASTNode,
  type DefinitionNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
} from 'graphql';

export function normalizeDocument(doc: DocumentNode): string {
  const rank = (d: DefinitionNode) => (d.kind === Kind.OPERATION_DEFINITION ? 0 : 1);
  const name = (d: DefinitionNode) => ('name' in d && d.name ? d.name.value : '');
  const definitions = [...doc.definitions].sort(
    (a, b) => rank(a) - rank(b) || (rank(a) === 1 ? name(a).localeCompare(name(b)) : 0),
  );
  return print({ ...doc, definitions });
}

/** The fragments `node` spreads, directly or through other fragments. */
function usedFragments(
  node: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
): FragmentDefinitionNode[] {
  const used = new Map<string, FragmentDefinitionNode>();
  const visit = (n: ASTNode) =>
    graphqlVisit(n, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        const frag = fragments.get(name);
        if (frag && !used.has(name)) {
          used.set(name, frag);
          visit(frag);
        }
      },
    });
  visit(node);
  return [...used.values()];
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export class AllowList {
  /** Normalised text by its SHA-256. */
  private readonly byHash = new Map<string, string>();
  private readonly checked = new WeakMap<DocumentNode, boolean>();

  /** Reads every .graphql file of `paths` (files, or directories searched recursively). */
  static load(paths: readonly string[]): AllowList {
    const list = new AllowList();
    const walk = (p: string): string[] => {
      if (!statSync(p).isDirectory()) return [p];
      return readdirSync(p)
        .sort()
        .flatMap((f) => {
          const child = path.join(p, f);
          return statSync(child).isDirectory() || f.endsWith('.graphql') ? walk(child) : [];
        });
    };
    const files = paths.flatMap((p) => walk(p));
    const docs = files.map((file) => {
      try {
        return parse(readFileSync(file, 'utf8'));
      } catch (err) {
        throw new Error(`OPERATION_ALLOW_LIST: ${file}: ${(err as Error).message}`);
      }
    });
    // Fragments may be shared across files; each operation is listed with those it uses.
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const doc of docs)
      for (const d of doc.definitions)
        if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    for (const doc of docs)
      for (const d of doc.definitions)
        if (d.kind === Kind.OPERATION_DEFINITION)
          list.add(
            normalizeDocument({
              kind: Kind.DOCUMENT,
              definitions: [d, ...usedFragments(d, fragments)],
            }),
          );
    if (list.size === 0)
      throw new Error(`OPERATION_ALLOW_LIST: no .graphql file in ${paths.join(', ')}`);
    return list;
  }

  add(normalized: string): string {
    const hash = sha256(normalized);
    this.byHash.set(hash, normalized);
    return hash;
  }

  get size(): number {
    return this.byHash.size;
  }

  /** The listed text with this SHA-256, for a persisted query sent without its text. */
  text(hash: string): string | undefined {
    return this.byHash.get(hash);
  }

  allows(doc: DocumentNode): boolean {
    let ok = this.checked.get(doc);
    if (ok === undefined) {
      ok = this.byHash.has(sha256(normalizeDocument(doc)));
      this.checked.set(doc, ok);
    }
    return ok;
  }
}
