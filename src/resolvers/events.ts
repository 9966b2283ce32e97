// Behaviour events: lookup, fields, and batch ingestion (recordEvents).
import {
  MAX_QUERY_LENGTH,
  recordEventBatch,
  type EventSubmission,
  type PageViewFields,
} from '../db/events.js';
import type { EventInput, PageViewInput, Resolvers, VisitInput } from '../generated/graphql.js';
import { isCode, isRate, MAX_PAGE_SECONDS } from '../intent/features.js';
import { badUserInput } from '../errors.js';
import { checkLength, oneDataset, type OneDataset } from '../input-rules.js';
import { type Visit } from '../db/page-views.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function toSubmission(e: EventInput, i: number, datasets: OneDataset): EventSubmission {
  const field = (name: string) => `events[${i}].${name}`;
  for (const name of ['clientEventId', 'userId', 'sessionId', 'itemId', 'forecastId'] as const)
    checkLength(field(name), e[name]);
  checkLength(field('query'), e.query, MAX_QUERY_LENGTH);
  const clientEventId = e.clientEventId.trim();
  if (clientEventId === '') throw badUserInput(field('clientEventId'), 'must not be empty');
  if (!e.userId && !e.sessionId)
    throw badUserInput(field('userId'), 'give a userId or a sessionId (or both)');
  const page = e.page ? toPageView(e.page, e.type, field('page')) : null;
  if ((e.page || e.visit) && !e.sessionId)
    throw badUserInput(
      field('sessionId'),
      'is required with page or visit (they describe a visit)',
    );
  if (e.type !== 'SEARCH' && !e.itemId && !e.page)
    throw badUserInput(field('itemId'), `is required for ${e.type} events`);
  if (e.type === 'SEARCH' && !e.query?.trim())
    throw badUserInput(field('query'), 'is required for SEARCH events');
  const forecastId = e.forecastId?.trim().toLowerCase() || null;
  if (forecastId !== null && !UUID.test(forecastId))
    throw badUserInput(field('forecastId'), `"${e.forecastId}" is not a forecast id (a UUID)`);
  if (forecastId !== null && e.type === 'SEARCH')
    throw badUserInput(field('forecastId'), 'feedback needs an event on an item, not a SEARCH');
  for (const name of ['userId', 'sessionId', 'itemId'] as const) {
    const id = e[name];
    if (id) datasets.check(field(name), id);
  }
  return {
    clientEventId,
    type: e.type,
    userId: e.userId || null,
    sessionId: e.sessionId || null,
    itemId: e.itemId || null,
    query: e.query ?? null,
    occurredAt: e.occurredAt ?? null,
    forecastId,
    page,
    visit: e.visit ? toVisit(e.visit, field('visit')) : null,
  };
}

/**
 * A page view input of an event of `type`, checked (a VIEW, values in range); `at` names it in
 * errors (`events[2].page`).
 */
export function toPageView(p: PageViewInput, type: string, at: string): PageViewFields {
  if (type !== 'VIEW') throw badUserInput(at, `a page view is a VIEW event, not ${type}`);
  const check = (name: string, x: number | null | undefined, max: number, what: string) => {
    if (x == null) return null;
    if (!Number.isFinite(x) || x < 0 || x > max)
      throw badUserInput(`${at}.${name}`, `${x} is not ${what}`);
    return x;
  };
  return {
    kind: p.kind,
    durationSeconds: check(
      'durationSeconds',
      p.durationSeconds,
      MAX_PAGE_SECONDS,
      'a duration of 0–86,400 seconds',
    ) as number,
    value: check('value', p.value, Number.MAX_VALUE, 'a page value ≥ 0'),
    bounceRate: check('bounceRate', p.bounceRate, 1, 'a rate in [0, 1]'),
    exitRate: check('exitRate', p.exitRate, 1, 'a rate in [0, 1]'),
  };
}

function toVisit(v: VisitInput, at: string): Visit {
  const visit: Visit = {};
  if (v.visitorType) visit.visitorType = v.visitorType;
  for (const name of ['trafficType', 'operatingSystem', 'browser', 'region'] as const) {
    const x = v[name];
    if (x == null) continue;
    if (!isCode(x)) throw badUserInput(`${at}.${name}`, `${x} is not a code ≥ 1`);
    visit[name] = x;
  }
  if (v.specialDay != null) {
    if (!isRate(v.specialDay))
      throw badUserInput(`${at}.specialDay`, `${v.specialDay} is not in [0, 1]`);
    visit.specialDay = v.specialDay;
  }
  return visit;
}

export const eventResolvers: Resolvers = {
  Query: {
    event: (_, { id }, { loaders }) => loaders.event.load(id),
  },
  Mutation: {
    recordEvents: async (_, { events }, { db, config, loaders, reads }) => {
      if (events.length === 0) throw badUserInput('events', 'must contain at least one event');
      if (events.length > config.maxEventBatch)
        throw badUserInput(
          'events',
          `has ${events.length} events; at most ${config.maxEventBatch} per batch (MAX_EVENT_BATCH)`,
        );
      const datasets = oneDataset();
      const batch = events.map((e, i) => toSubmission(e, i, datasets));
      const results = await recordEventBatch(db, batch, new Date());
      // Before the answer: a forecast for these shoppers, on any gateway instance, then reads
      // the replica only once it has replayed these events (src/db/read-routing.ts).
      await reads?.noteWrites(writtenSubjects(results.map((r) => r.event)));
      for (const r of results) loaders.event.prime(r.event.id, r.event);
      const duplicates = results.filter((r) => r.duplicate).length;
      return { accepted: results.length - duplicates, duplicates, results };
    },
  },
  Event: {
    sequence: (e) => e.seq,
    forecastId: (e) => e.forecastId ?? null,
    page: (e) => e.page ?? null,
    user: (e, _, { loaders }) => (e.userId ? loaders.user.load(e.userId) : null),
    session: (e, _, { loaders }) => (e.sessionId ? loaders.session.load(e.sessionId) : null),
    item: (e, _, { loaders }) => (e.itemId ? loaders.item.load(e.itemId) : null),
  },
};

/** The shoppers whose histories `events` extend, as subject_writes names them. */
function writtenSubjects(
  events: readonly { userId?: string | null; sessionId?: string | null }[],
): string[] {
  const subjects = new Set<string>();
  for (const e of events) {
    if (e.userId) subjects.add(`user:${e.userId}`);
    if (e.sessionId) subjects.add(`session:${e.sessionId}`);
  }
  return [...subjects];
}
