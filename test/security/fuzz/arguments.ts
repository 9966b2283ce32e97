// Hostile arguments for every root field, derived from the schema: a fast-check arbitrary per
// input type. Two kinds of case: well-typed ones (every value of its type, so that the case
// reaches the resolvers and the database: scalars at their boundaries, unicode and NUL, huge
// strings, deep and wide JSON, forged cursors, extreme and impossible dates, mixed with ids and
// cursors that exist), and ill-typed ones besides (enums misspelt, input objects with fields
// missing or unknown, lists of every length, null where the schema says non-null, a value of
// another type altogether). An operation is sent with its arguments as variables or, in a
// quarter of the cases, written into the document as literals.
import fc from 'fast-check';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
} from 'graphql';

/** Known rows the cases draw from besides hostile values. */
export interface Pools {
  /** Every id below, and some that exist nowhere. */
  ids: string[];
  items: string[];
  users: string[];
  sessions: string[];
  categories: string[];
  forecasts: string[];
  datasets: string[];
  /** Cursors the gateway handed out (valid for their own list only). */
  cursors: string[];
}

/** One case of a root field: the document and its variables. */
export interface FieldCase {
  document: string;
  variables: Record<string, unknown>;
}

/** Fields that run the forecast pipeline (weighed by the cost model): only at the root. */
const HEAVY = new Set(['interestForecast', 'purchaseIntent', 'interestTimeline', 'interestDrift']);
/** Arguments of which the API takes one at most (connections; a forecast's subject). */
const EXCLUSIVE = [
  ['first', 'last'],
  ['after', 'before'],
  ['userId', 'sessionId', 'recentEvents'],
];
const CURSOR_LISTS = [
  'Query.items',
  'Query.users',
  'Query.categories',
  'User.events',
  'User.sessions',
  'Session.events',
];

const base64url = (s: string) => Buffer.from(s).toString('base64url');

/** `{"a": {"a": … 1}}` with `depth` levels, built without recursion. */
function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < depth; i++) v = { a: v };
  return v;
}

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\0',
      'a\0b',
      '\u202e\u200b',
      '😀🏳️‍🌈',
      '\uD800',
      "'; DROP TABLE items; --",
      '%_\\',
      'null',
      '{}',
      '../../../../etc/passwd',
      'beauty:1\n',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map((s) => `${s}\0`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(201, 1001, 10_001, 300_000).map((n) => 'x'.repeat(n)),
  },
);

const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 12 }),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

const ints: fc.Arbitrary<number> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -3, max: 120 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(0, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53, -(2 ** 53), 1e300),
  },
  { weight: 1, arbitrary: fc.integer() },
);

const floats: fc.Arbitrary<number> = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 0.5, 1, -1, 1e308, -1e308, 5e-324, 1e10, 9_999_999_999.99),
  fc.integer({ min: -10, max: 1000 }),
);

const pad = (n: number, width: number) => String(n).padStart(width, '0');

const instants: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '9999-12-31T00:00:00Z',
      '0001-01-01T00:00:00Z',
      '0000-01-01T00:00:00Z',
      '2024-02-30T00:00:00Z',
      '1989-12-31T23:59:59Z',
      '1990-01-01T00:00:00Z',
      '2024-02-29T12:00:00Z',
      '2026-01-05T10:00:00+02:00',
      '2024-01-01T24:00:00Z',
      '2024-01-01T10:00:00',
      '2024-01-01',
      '+275760-09-13T00:00:00.000Z',
      '-000001-01-01T00:00:00Z',
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .date({
        min: new Date('0000-01-01T00:00:00Z'),
        max: new Date('9999-12-31T23:59:59Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString()),
  },
  {
    weight: 3,
    arbitrary: fc
      .date({ min: new Date('2016-01-01T00:00:00Z'), max: new Date(), noInvalidDate: true })
      .map((d) => d.toISOString()),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: 0, max: 61 }),
      )
      .map(
        ([y, m, d, h, s]) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(h, 2)}:00:${pad(s, 2)}Z`,
      ),
  },
  { weight: 1, arbitrary: hostileString },
);

const days: fc.Arbitrary<string> = fc.oneof(
  instants.map((t) => t.slice(0, 10)),
  fc.constantFrom('2016-05-09', '9999-12-31', '0001-01-01', '2024-02-30', '2016-5-9', 'today'),
  hostileString,
);

/** JSON objects of every shape, up to thousands of levels deep or keys wide. */
const jsonObjects: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), {
      maxKeys: 8,
    }),
  },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 6000 }).map(nested) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 50, max: 4000 })
      .map((w) =>
        Object.fromEntries(Array.from({ length: w }, (_, i) => [`k${i}`, 'v'.repeat(i % 7)])),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>('text', 5, [], [1, 2], { 'a\0': 1 }, { k: '\0' }),
  },
);

function forgedCursors(pools: Pools): fc.Arbitrary<string> {
  const keyValue = fc.oneof(
    fc.integer(),
    fc.constantFrom<unknown>(
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 53,
      1.5,
      1e308,
      null,
      true,
      '1e3',
      ' 1',
      '\0',
    ),
    fc.string({ maxLength: 8 }),
    fc.stringMatching(/^\d{1,25}$/),
  );
  return fc.oneof(
    {
      weight: 2,
      arbitrary: pools.cursors.length ? fc.constantFrom(...pools.cursors) : hostileString,
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom(...CURSOR_LISTS, 'x'), fc.array(keyValue, { maxLength: 3 }))
        .map(([list, key]) => base64url(JSON.stringify([list, ...key]))),
    },
    {
      weight: 1,
      arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => base64url(JSON.stringify(v))),
    },
    { weight: 1, arbitrary: hostileString },
  );
}

/** Well-typed values only, or ill-typed ones among them. */
export type Mode = 'typed' | 'hostile';

const benignString = fc.oneof(
  fc.constantFrom('lipstick', 'shop', 'a', 'Beauty', 'x-1'),
  fc.string({ minLength: 1, maxLength: 12 }),
);

const recent = fc.date({
  min: new Date('2016-01-01T00:00:00Z'),
  max: new Date(Date.now() - 60_000),
  noInvalidDate: true,
});

/**
 * A value a well-typed case mostly takes (plausible, so that the case gets past the checks),
 * now and then the hostile one.
 */
const mostly = <T>(plausible: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 6, arbitrary: plausible }, { weight: 1, arbitrary: hostile });

/** The known ids an argument of this name takes (`sessionId`: sessions, …). */
function idsNamed(name: string, pools: Pools): string[] {
  if (/session/i.test(name)) return pools.sessions;
  if (/user/i.test(name)) return pools.users;
  if (/item/i.test(name)) return pools.items;
  if (/categor/i.test(name)) return pools.categories;
  if (/forecast/i.test(name)) return pools.forecasts;
  return pools.ids;
}

/** Values for a String or ID argument, by what its name says it holds. */
function textFor(name: string, pools: Pools, mode: Mode): fc.Arbitrary<unknown> {
  if (mode === 'typed') {
    const plausible =
      name === 'after' || name === 'before'
        ? fc.constantFrom(...pools.cursors)
        : name === 'dataset'
          ? fc.constantFrom(...pools.datasets)
          : name === 'clientEventId'
            ? fc.uuid()
            : /ids?$/i.test(name)
              ? fc.constantFrom(...idsNamed(name, pools))
              : benignString;
    return mostly<unknown>(plausible, textFor(name, pools, 'hostile'));
  }
  if (name === 'after' || name === 'before') return forgedCursors(pools);
  if (name === 'dataset') return fc.oneof(fc.constantFrom(...pools.datasets), hostileString);
  if (name === 'clientEventId')
    return fc.oneof({ weight: 4, arbitrary: fc.uuid() }, { weight: 1, arbitrary: hostileString });
  if (name === 'directory')
    return fc.oneof(
      fc.constantFrom('models/beauty', '/etc', '.', '../../', '/nonexistent'),
      hostileString,
    );
  if (/ids?$/i.test(name))
    return fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...pools.ids) },
      { weight: 2, arbitrary: hostileString },
      { weight: 1, arbitrary: fc.integer() },
    );
  return fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...pools.ids) },
    { weight: 2, arbitrary: benignString },
    { weight: 3, arbitrary: hostileString },
  );
}

/** An arbitrary of values for an argument (or input field) `name` of `type`. */
export function valuesOf(
  type: GraphQLInputType,
  name: string,
  pools: Pools,
  mode: Mode,
): fc.Arbitrary<unknown> {
  const hostile = mode === 'hostile';
  const typed = ((): fc.Arbitrary<unknown> => {
    if (isNonNullType(type))
      return hostile
        ? fc.oneof(
            { weight: 19, arbitrary: valuesOf(type.ofType, name, pools, mode) },
            { weight: 1, arbitrary: fc.constant(null) },
          )
        : valuesOf(type.ofType, name, pools, mode);
    if (isListType(type)) {
      const item = valuesOf(type.ofType, name, pools, mode);
      if (!hostile) return fc.array(item, { minLength: 1, maxLength: 4 });
      return fc.oneof(
        { weight: 6, arbitrary: fc.array(item, { maxLength: 4 }) },
        { weight: 1, arbitrary: fc.array(item, { minLength: 5, maxLength: 30 }) },
        { weight: 1, arbitrary: item }, // a single value, which GraphQL reads as a list of one
        { weight: 1, arbitrary: fc.constant(null) },
      );
    }
    if (isEnumType(type)) {
      const values = fc.constantFrom(...type.getValues().map((v) => v.name));
      return hostile
        ? fc.oneof({ weight: 6, arbitrary: values }, { weight: 1, arbitrary: hostileString })
        : values;
    }
    if (isInputObjectType(type)) {
      const fields = Object.values(type.getFields());
      const model = Object.fromEntries(
        fields.map((f) => [f.name, valuesOf(f.type, f.name, pools, mode)]),
      );
      const required = fields.filter((f) => isNonNullType(f.type)).map((f) => f.name);
      const record = fc.record(model, { requiredKeys: required });
      if (!hostile) {
        // Each optional field in half the cases.
        const sparse = fields.map((f) =>
          isNonNullType(f.type)
            ? model[f.name]!.map((v) => [f.name, v] as const)
            : fc.oneof(
                { weight: 1, arbitrary: fc.constant(null) },
                { weight: 1, arbitrary: model[f.name]!.map((v) => [f.name, v] as const) },
              ),
        );
        return fc
          .tuple(...sparse)
          .map((entries) => Object.fromEntries(entries.filter((e) => e !== null)));
      }
      return fc
        .tuple(record, fc.option(fc.tuple(fc.string({ maxLength: 8 }), anyJson), { freq: 10 }))
        .map(([r, extra]) => (extra ? { ...r, [extra[0]]: extra[1] } : r));
    }
    if (isScalarType(type)) {
      switch (type.name) {
        case 'Int':
          return hostile ? ints : mostly(fc.integer({ min: 1, max: 30 }), ints);
        case 'Float':
          return hostile ? floats : mostly(fc.double({ min: 0, max: 1, noNaN: true }), floats);
        case 'Boolean':
          return fc.boolean();
        case 'DateTime':
          return hostile
            ? instants
            : mostly(
                recent.map((d) => d.toISOString()),
                instants,
              );
        case 'Date':
          return hostile
            ? days
            : mostly(
                recent.map((d) => d.toISOString().slice(0, 10)),
                days,
              );
        case 'JSON':
          return hostile
            ? jsonObjects
            : mostly(
                fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), {
                  maxKeys: 5,
                }),
                jsonObjects,
              );
        default: // String, ID
          return textFor(name, pools, mode);
      }
    }
    return anyJson;
  })();
  return hostile
    ? fc.oneof({ weight: 12, arbitrary: typed }, { weight: 1, arbitrary: anyJson })
    : typed;
}

/** A selection of `type`'s fields: leaves, and objects two levels down (heavy ones left out). */
export function selectionOf(type: GraphQLOutputType, depth = 0): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (!isObjectType(named) && !isInterfaceType(named)) return '{ __typename }';
  const parts = ['__typename'];
  for (const f of Object.values(named.getFields())) {
    if (f.args.some((a) => isNonNullType(a.type) && a.defaultValue === undefined)) continue;
    if (isLeafType(getNamedType(f.type))) parts.push(f.name);
    else if (depth < 2 && !HEAVY.has(f.name))
      parts.push(`${f.name} ${selectionOf(f.type, depth + 1)}`);
  }
  return `{ ${parts.join(' ')} }`;
}

/** A GraphQL literal for `value` of `type`; null when it has none (e.g. a key that is no name). */
function literalOf(value: unknown, type: GraphQLInputType, depth = 0): string | null {
  if (depth > 40) return null;
  if (value === null || value === undefined) return 'null';
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) {
    if (!Array.isArray(value)) return literalOf(value, inner.ofType, depth + 1);
    const items = value.map((v) => literalOf(v, inner.ofType, depth + 1));
    return items.includes(null) ? null : `[${items.join(', ')}]`;
  }
  if (typeof value === 'string')
    return isEnumType(inner) && /^[_A-Za-z][_0-9A-Za-z]*$/.test(value)
      ? value
      : JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const items = value.map((v) => literalOf(v, inner, depth + 1));
    return items.includes(null) ? null : `[${items.join(', ')}]`;
  }
  const fields = isInputObjectType(inner) ? inner.getFields() : {};
  const entries: string[] = [];
  for (const [k, v] of Object.entries(value as object)) {
    if (!/^[_A-Za-z][_0-9A-Za-z]*$/.test(k)) return null;
    const lit = literalOf(v, fields[k]?.type ?? inner, depth + 1);
    if (lit === null) return null;
    entries.push(`${k}: ${lit}`);
  }
  return `{${entries.join(', ')}}`;
}

/** Cases of root field `field` of the `operation` type. */
export function casesOf(
  operation: 'query' | 'mutation',
  field: GraphQLField<unknown, unknown>,
  pools: Pools,
): fc.Arbitrary<FieldCase> {
  const args = field.args as readonly GraphQLArgument[];
  const valuesIn = (mode: Mode) =>
    fc.tuple(
      ...args.map((a) =>
        // A well-typed case leaves out half its optional arguments, so that it often passes.
        isNonNullType(a.type) && mode === 'typed'
          ? valuesOf(a.type, a.name, pools, mode)
          : fc.option(valuesOf(a.type, a.name, pools, mode), {
              freq: mode === 'typed' ? 2 : 6,
              nil: undefined,
            }),
      ),
    );
  // A well-typed case gives one argument of each group the API takes one of at most.
  const oneOfEach = ([given, pick]: [unknown[], number]) =>
    given.map((v, i) => {
      const group = EXCLUSIVE.find((g) => g.includes(args[i]!.name));
      if (!group || v === undefined) return v;
      const present = args.flatMap((a, k) =>
        group.includes(a.name) && given[k] !== undefined ? [k] : [],
      );
      return present[pick % present.length] === i ? v : undefined;
    });
  const values = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(valuesIn('typed'), fc.nat()).map(oneOfEach) },
    { weight: 2, arbitrary: valuesIn('hostile') },
  );
  const selection = selectionOf(field.type);
  return fc.tuple(values, fc.integer({ min: 0, max: 3 })).map(([given, mode]): FieldCase => {
    const present = args.map((a, i) => [a, given[i]] as const).filter(([, v]) => v !== undefined);
    if (mode === 0) {
      // Literals in the document, where every value has one.
      const literals = present.map(([a, v]) => [a.name, literalOf(v, a.type)] as const);
      if (literals.every(([, l]) => l !== null)) {
        const list = literals.map(([n, l]) => `${n}: ${l}`).join(', ');
        return {
          document: `${operation} { ${field.name}${list ? `(${list})` : ''} ${selection} }`,
          variables: {},
        };
      }
    }
    const definitions = args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
    const uses = args.map((a) => `${a.name}: $${a.name}`).join(', ');
    return {
      document: `${operation}${definitions ? `(${definitions})` : ''} { ${field.name}${uses ? `(${uses})` : ''} ${selection} }`,
      variables: Object.fromEntries(present.map(([a, v]) => [a.name, v])),
    };
  });
}
