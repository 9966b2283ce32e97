// What each operation needs. A key holds scopes; `admin` implies every other. Queries read
// (`read`) except the administrative ones; every mutation is listed here, and buildServer
// refuses a schema with a mutation that is not (checkScopeMap), so a new mutation cannot ship
// unguarded by accident.
import {
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

export const SCOPES = ['read', 'write:events', 'write:catalog', 'metrics', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

/** The scope each mutation needs. */
export const MUTATION_SCOPES: Readonly<Record<string, Scope>> = {
  recordEvents: 'write:events',
  upsertUser: 'write:events',
  upsertItem: 'write:catalog',
  upsertItems: 'write:catalog',
  upsertCategories: 'write:catalog',
  createApiKey: 'admin',
  revokeApiKey: 'admin',
  rolloutModel: 'admin',
  rollbackModel: 'admin',
};

/** Query fields that need more than `read`. */
export const QUERY_SCOPES: Readonly<Record<string, Scope>> = {
  apiKeys: 'admin',
  // Operational: model directories on the server's disk, rollout history.
  modelStatus: 'metrics',
};

/** The scope a root field of an operation of `kind` needs. */
export function requiredScope(kind: 'query' | 'mutation' | 'subscription', field: string): Scope {
  if (kind === 'mutation') return MUTATION_SCOPES[field] ?? 'admin';
  return QUERY_SCOPES[field] ?? 'read';
}

export function hasScope(held: readonly Scope[], needed: Scope): boolean {
  return held.includes('admin') || held.includes(needed);
}

/** Throws naming every Mutation field of `schema` without an entry in MUTATION_SCOPES. */
export function checkScopeMap(schema: GraphQLSchema): void {
  const fields = Object.keys(schema.getMutationType()?.getFields() ?? {});
  const missing = fields.filter((f) => !(f in MUTATION_SCOPES));
  if (missing.length > 0) {
    throw new Error(
      `mutations without a scope in src/security/scopes.ts MUTATION_SCOPES: ${missing.join(', ')}`,
    );
  }
}

/**
 * The root fields `operation` selects, through fragment spreads and inline fragments too
 * (`mutation { ...F } fragment F on Mutation { recordEvents … }` selects recordEvents);
 * introspection fields left out.
 */
export function rootFields(document: DocumentNode, operation: OperationDefinitionNode): string[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const fields = new Set<string>();
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (!sel.name.value.startsWith('__')) fields.add(sel.name.value);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        walk(sel.selectionSet);
      } else if (!seen.has(sel.name.value)) {
        seen.add(sel.name.value);
        const frag = fragments.get(sel.name.value);
        if (frag) walk(frag.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return [...fields];
}
