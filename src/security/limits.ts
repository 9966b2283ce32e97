// Shape limits of a GraphQL operation, checked once it is parsed and validated and before
// anything runs: selection depth, aliases and cost. Cost counts every selected field once per
// time it can be resolved: a field with a `first` or `last` argument multiplies what it selects
// by that count (the argument's value, its variable's value, or its default; a connection
// without one pages DEFAULT_PAGE), so `users(first: 100) { … interestForecast(first: 50) … }`
// costs the 5,000 forecast items it can produce. Fields that run the model weigh more
// (FIELD_WEIGHTS); a lookup by a list of ids counts once per id. An introspection field
// (`__schema`, `__type`) costs INTROSPECTION_COST; its nesting is capped by Apollo.
import {
  getNamedType,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  valueFromAST,
  visit,
  GraphQLError,
  type ASTVisitor,
  type ValidationContext,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

export interface ShapeLimits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
}

export interface OperationShape {
  depth: number;
  aliases: number;
  cost: number;
}

/** Per-field cost beyond 1: fields that run the forecast pipeline for their parent. */
export const FIELD_WEIGHTS: Readonly<Record<string, number>> = {
  interestForecast: 10,
  purchaseIntent: 5,
  interestTimeline: 5,
  interestDrift: 5,
};

/** What one `__schema` or `__type` selection costs: GraphiQL's introspection query passes,
 * hundreds of aliased copies of it do not. */
export const INTROSPECTION_COST = 1000;

/** The page a connection without `first`/`last` returns (src/resolvers/paging.ts). */
const DEFAULT_PAGE = 20;
const PAGING_ARGS = ['first', 'last'] as const;

/** How many times `field` resolves what it selects, from its paging argument. */
function multiplier(
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  variables: Record<string, unknown>,
): number {
  // A lookup by a list of ids (itemsByIds) resolves once per id.
  const ids = node.arguments?.find((a) => a.name.value === 'ids');
  const idsArg = field.args.find((a) => a.name === 'ids');
  if (ids && idsArg) {
    const value = valueFromAST(ids.value, idsArg.type, variables);
    if (Array.isArray(value)) return Math.max(1, value.length);
  }
  for (const name of PAGING_ARGS) {
    const arg = field.args.find((a) => a.name === name);
    if (!arg) continue;
    const given = node.arguments?.find((a) => a.name.value === name);
    const value = given ? valueFromAST(given.value, arg.type, variables) : arg.defaultValue;
    if (typeof value === 'number' && Number.isFinite(value)) return Math.max(1, Math.floor(value));
    if (given === undefined && name === 'first' && field.args.some((a) => a.name === 'last')) {
      continue; // a connection: `last` may be the one given
    }
  }
  return field.args.some((a) => a.name === 'first') ? DEFAULT_PAGE : 1;
}

/**
 * Depth, aliases and cost of `operation` with `variables`. Stops early (returning what it has
 * counted, already over a limit) once a limit is passed, so a hostile document costs little.
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  limits: ShapeLimits,
): OperationShape {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  }
  const shape: OperationShape = { depth: 0, aliases: 0, cost: 0 };
  const over = () =>
    shape.depth > limits.maxDepth ||
    shape.aliases > limits.maxAliases ||
    shape.cost > limits.maxCost;

  // `times`: how often `set` resolves in the whole operation. `visited`: the fragments already
  // spread into the field's selection (as graphql's collectFields merges them: a fragment
  // spread twice at one level is resolved once, and walked once, so that `{ ...A ...A }`
  // nested 30 levels deep costs 30 steps, not 2^30).
  const walk = (
    set: SelectionSetNode,
    parent: GraphQLCompositeType,
    depth: number,
    times: number,
    visited: Set<string>,
  ): void => {
    for (const sel of set.selections) {
      if (over()) return;
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const frag = fragments.get(sel.name.value);
        // Validation has rejected unknown and cyclic spreads; the guard keeps this total.
        if (!frag || visited.has(sel.name.value)) continue;
        visited.add(sel.name.value);
        const type = schema.getType(frag.typeCondition.name.value);
        if (!isCompositeType(type)) continue;
        walk(frag.selectionSet, type, depth, times, visited);
        continue;
      }
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const type = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parent;
        if (!isCompositeType(type)) continue;
        walk(sel.selectionSet, type, depth, times, visited);
        continue;
      }
      const name = sel.name.value;
      if (sel.alias) shape.aliases++;
      if (name.startsWith('__')) {
        // __typename costs nothing; an introspection query costs INTROSPECTION_COST each
        // time (its own depth is capped by Apollo; it is switched by GRAPHQL_INTROSPECTION)
        if (name !== '__typename') shape.cost += INTROSPECTION_COST * times;
        continue;
      }
      shape.depth = Math.max(shape.depth, depth);
      const field =
        isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
      if (!field) continue;
      shape.cost += (1 + (FIELD_WEIGHTS[name] ?? 0)) * times;
      const child = getNamedType(field.type);
      if (sel.selectionSet && isCompositeType(child)) {
        walk(
          sel.selectionSet,
          child,
          depth + 1,
          times * multiplier(field, sel, variables),
          new Set(),
        );
      }
    }
  };

  const root =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  if (root) walk(operation.selectionSet, root, 1, 1, new Set());
  return shape;
}

/** Longest path findNul reports; a deeper one keeps its start and its end. */
const MAX_PATH_SHOWN = 240;

interface Visit {
  value: unknown;
  /** `.key` or `[i]`, appended to the parent's path. */
  step: string;
  parent: Visit | null;
}

function pathOf(visit: Visit): string {
  const steps: string[] = [];
  for (let v: Visit | null = visit; v; v = v.parent) steps.push(v.step);
  const path = steps.reverse().join('');
  if (path.length <= MAX_PATH_SHOWN) return path;
  const tail = path.slice(path.length - 100);
  return `${path.slice(0, MAX_PATH_SHOWN - tail.length - 1)}…${tail}`;
}

/**
 * Where a NUL character (U+0000) is in the operation's variables (keys or string values) or
 * its string literals: PostgreSQL stores no NUL in text or jsonb, so such a request is refused
 * as BAD_USER_INPUT before anything runs rather than failing inside a write. Null when none.
 * Walks the values with a stack of its own, not by recursion: a variable may nest as deep as
 * the body limit allows (a JSON argument 100,000 levels deep must not overflow the call stack).
 */
export function findNul(document: DocumentNode, variables: Record<string, unknown>): string | null {
  // Depth first, children in order: the first NUL of the value as written.
  const stack: Visit[] = Object.entries(variables)
    .reverse()
    .map(([name, value]) => ({ value, step: name, parent: null }));
  while (stack.length > 0) {
    const visit = stack.pop() as Visit;
    const v = visit.value;
    if (typeof v === 'string') {
      if (v.includes('\0')) return pathOf(visit);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--)
        stack.push({ value: v[i], step: `[${i}]`, parent: visit });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (const [k] of entries)
        if (k.includes('\0'))
          return pathOf({ value: k, step: `.${JSON.stringify(k)}`, parent: visit });
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, x] = entries[i] as [string, unknown];
        stack.push({ value: x, step: `.${k}`, parent: visit });
      }
    }
  }
  let literal: string | null = null;
  visit(document, {
    StringValue(node) {
      if (literal === null && node.value.includes('\0'))
        literal = 'a string literal of the document';
    },
  });
  return literal;
}

/**
 * Validation rule (graphql 17 has it; 16 fails such an operation only when executing, without
 * a code): an operation whose type the schema has no root for, e.g. a subscription here.
 */
export function KnownOperationTypesRule(context: ValidationContext): ASTVisitor {
  const schema = context.getSchema();
  return {
    OperationDefinition(node) {
      const root =
        node.operation === 'query'
          ? schema.getQueryType()
          : node.operation === 'mutation'
            ? schema.getMutationType()
            : schema.getSubscriptionType();
      if (!root) {
        context.reportError(
          new GraphQLError(`this API has no ${node.operation} operations`, { nodes: node }),
        );
      }
    },
  };
}
