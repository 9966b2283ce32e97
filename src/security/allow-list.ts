// Persisted-operation allow-list (OPERATION_ALLOW_LIST): the operations of .graphql files a
// storefront may run, each with the fragments it uses (from any of the files) as one document,
// as a client sends it. A request matches when its document, normalised (printed, operations first, then
// fragments by name: whitespace, comments and fragment order do not matter), equals a listed
// one. A client may also send only the SHA-256 of the normalised text as an automatic persisted
// query (`extensions.persistedQuery.sha256Hash`); the gateway then fills in the listed text.
// A .json file is a persisted-documents manifest as GraphQL Code Generator's client preset writes
// it (`{ "sha256:<hex>": "<document>" }`, each hash that of its exact text): its documents are
// listed, and may be sent by that hash, as an APQ hash or as `documentId` (guard.ts).
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
  /** A manifest's exact text by its hash there (the SHA-256 of that text, hex). */
  private readonly byManifestHash = new Map<string, string>();
  private readonly checked = new WeakMap<DocumentNode, boolean>();

  /**
   * Reads every .graphql file and persisted-documents manifest (.json) of `paths` (files, or
   * directories searched recursively).
   */
  static load(paths: readonly string[]): AllowList {
    const list = new AllowList();
    const walk = (p: string): string[] => {
      if (!statSync(p).isDirectory()) return [p];
      return readdirSync(p)
        .sort()
        .flatMap((f) => {
          const child = path.join(p, f);
          return statSync(child).isDirectory() || f.endsWith('.graphql') || f.endsWith('.json')
            ? walk(child)
            : [];
        });
    };
    const all = paths.flatMap((p) => walk(p));
    const files = all.filter((f) => !f.endsWith('.json'));
    for (const manifest of all.filter((f) => f.endsWith('.json'))) list.addManifest(manifest);
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

  /** Lists a persisted-documents manifest's documents; a hash that is not its text's is refused. */
  private addManifest(file: string): void {
    let entries: [string, unknown][];
    try {
      entries = Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>);
    } catch (err) {
      throw new Error(`OPERATION_ALLOW_LIST: ${file}: ${(err as Error).message}`);
    }
    for (const [key, text] of entries) {
      const hash = key.replace(/^sha256:/, '');
      if (typeof text !== 'string' || sha256(text) !== hash) {
        throw new Error(
          `OPERATION_ALLOW_LIST: ${file}: "${key}" is not the SHA-256 of its document (a persisted-documents manifest maps sha256:<hex of the text> to the text)`,
        );
      }
      let doc: DocumentNode;
      try {
        doc = parse(text);
      } catch (err) {
        throw new Error(`OPERATION_ALLOW_LIST: ${file}: "${key}": ${(err as Error).message}`);
      }
      this.add(normalizeDocument(doc));
      this.byManifestHash.set(hash, text);
    }
  }

  add(normalized: string): string {
    const hash = sha256(normalized);
    this.byHash.set(hash, normalized);
    return hash;
  }

  get size(): number {
    return this.byHash.size;
  }

  /**
   * The listed text with this SHA-256 (of its normalised text, or of a manifest's exact text;
   * a `sha256:` prefix is allowed), for a persisted query sent without its text.
   */
  text(hash: string): string | undefined {
    const hex = hash.replace(/^sha256:/, '');
    return this.byManifestHash.get(hex) ?? this.byHash.get(hex);
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
