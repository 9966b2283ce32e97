// Custom scalars: DateTime (ISO-8601 instant), Date (ISO-8601 day), JSON (an object).
import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { ErrorCode } from '../errors.js';
import { codedError } from '../errors.js';

const invalid = (message: string) => codedError(ErrorCode.BAD_USER_INPUT, message);

function parseDateTime(value: unknown): Date {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const d = new Date(value);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw invalid(`DateTime must be an ISO-8601 date-time string, got ${JSON.stringify(value)}`);
}

export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize: (v) => (v instanceof Date ? v : new Date(String(v))).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});

function parseDay(value: unknown): string {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  throw invalid(`Date must be a YYYY-MM-DD string, got ${JSON.stringify(value)}`);
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

export const JSONScalar = new GraphQLScalarType<Record<string, unknown>, Record<string, unknown>>({
  name: 'JSON',
  serialize: (v) => asObject(v),
  parseValue: asObject,
  parseLiteral: (ast) => asObject(literal(ast)),
});
