// All resolver modules, merged. A new module (e.g. forecasts) is added to `modules` below.
import { createRequire } from 'node:module';
import type { Resolvers } from '../generated/graphql.js';
import { accessResolvers } from './access.js';
import { catalogResolvers } from './catalog.js';
import { eventResolvers } from './events.js';
import { evolutionResolvers } from './evolution.js';
import { forecastResolvers } from './forecast.js';
import { rolloutResolvers } from './rollout.js';
import { DateScalar, DateTime, JSONScalar } from './scalars.js';
import { shopperResolvers } from './shoppers.js';

const { version } = createRequire(import.meta.url)('../../package.json') as {
  version: string;
};

const base: Resolvers = {
  DateTime,
  Date: DateScalar,
  JSON: JSONScalar,
  Query: {
    about: (_, __, { db }) => ({ version, storage: db.kind }),
  },
};

export const modules: Resolvers[] = [
  base,
  catalogResolvers,
  shopperResolvers,
  eventResolvers,
  forecastResolvers,
  evolutionResolvers,
  accessResolvers,
  rolloutResolvers,
];

/** Merges resolver maps type by type (later modules add fields; they must not redefine one). */
export function mergeResolvers(list: Resolvers[]): Resolvers {
  const merged: Record<string, unknown> = {};
  for (const mod of list) {
    for (const [type, fields] of Object.entries(mod)) {
      const prev = merged[type];
      if (
        prev === undefined ||
        typeof fields !== 'object' ||
        fields === null ||
        'serialize' in fields
      ) {
        if (prev !== undefined) throw new Error(`resolver for ${type} defined twice`);
        merged[type] = fields;
        continue;
      }
      for (const field of Object.keys(fields))
        if (field in (prev as object)) throw new Error(`resolver ${type}.${field} defined twice`);
      merged[type] = { ...(prev as object), ...fields };
    }
  }
  return merged as Resolvers;
}

export const resolvers = mergeResolvers(modules);
