// Custom scalars: DateTime (ISO-8601 instant), Date (ISO-8601 day), both within the time policy
// (src/time-policy.ts); JSON (an object, bounded in depth and length).
import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { codedError, ErrorCode } from '../errors.js';
import { checkDay, checkInstant } from '../time-policy.js';

const invalid = (message: string) => codedError(ErrorCode.BAD_USER_INPUT, message);

function parseDateTime(value: unknown): Date {
  const checked = checkInstant(value);
  if (checked.ok) return checked.value;
  throw invalid(`DateTime ${checked.reason}`);
}

export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize: (v) => (v instanceof Date ? v : new Date(String(v))).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});

function parseDay(value: unknown): string {
  const checked = checkDay(value);
  if (checked.ok) return checked.value;
  throw invalid(`Date ${checked.reason}`);
}

export const DateScalar = new GraphQLScalarType<string, string>({
  name: 'Date',
  serialize: (v) => String(v),
  parseValue: parseDay,
  parseLiteral: (ast) => parseDay(ast.kind === Kind.STRING ? ast.value : undefined),
});

function literal(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literal(f.value)]));
    case Kind.LIST:
      return ast.values.map(literal);
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    default:
      throw invalid('JSON literals cannot contain variables');
  }
}

function asObject(v: unknown): Record<string, unknown> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  throw invalid('JSON value must be an object');
}

/** Deepest nesting of objects and lists in a JSON argument (the object itself is level 1). */
export const MAX_JSON_DEPTH = 16;
/** Longest a JSON argument may be, written as JSON (characters). */
export const MAX_JSON_LENGTH = 32_768;

/**
 * A JSON argument within MAX_JSON_DEPTH and MAX_JSON_LENGTH. The depth is measured with a stack
 * of its own, not by recursion, since a hostile value may nest as deep as the body limit
 * allows; once it is known to be shallow, JSON.stringify (recursive) may measure its length.
 */
function bounded(v: Record<string, unknown>): Record<string, unknown> {
  const stack: [object, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [x, depth] = stack.pop() as [object, number];
    if (depth > MAX_JSON_DEPTH) throw invalid(`JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
    for (const child of Array.isArray(x) ? x : Object.values(x))
      if (child !== null && typeof child === 'object') stack.push([child as object, depth + 1]);
  }
  const length = JSON.stringify(v).length;
  if (length > MAX_JSON_LENGTH)
    throw invalid(`JSON is ${length} characters long, longer than ${MAX_JSON_LENGTH}`);
  return v;
}

export const JSONScalar = new GraphQLScalarType<Record<string, unknown>, Record<string, unknown>>({
  name: 'JSON',
  serialize: (v) => asObject(v),
  parseValue: (v) => bounded(asObject(v)),
  parseLiteral: (ast) => bounded(asObject(literal(ast))),
});
