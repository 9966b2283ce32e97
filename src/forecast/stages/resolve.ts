// resolve: each forecast's subject, read from the database in a constant number of
// statements per batch (users' and sessions' newest events, the existence of the context item
// and category and of anonymous events' items), or the input error that stops it.
import type { Db } from '../../db/client.js';
import { subjectHistories } from '../../db/forecasts.js';
import { badUserInput, CodedError, ErrorCode } from '../../errors.js';
import type { SequenceEvent, SequenceModel } from '../../inference/model.js';
import { subjectDataset } from '../forecast.js';
import { unique, type ForecastJob, type ResolvedSubject } from './job.js';
import { existingItemIds } from '../../db/items.js';
import { existingCategoryIds } from '../../db/categories.js';

/** How far back "already purchased / seen" exclusions and the model input look. */
const HISTORY_LIMIT = 200;

/** Sets every job's `subject`, or its `error` when its input names what does not exist. */
export async function resolve(
  db: Db,
  model: SequenceModel,
  jobs: readonly ForecastJob[],
): Promise<void> {
  const requests = jobs.map((j) => j.request);
  const userIds = unique(
    requests.flatMap((r) => (r.subject.kind === 'user' ? [r.subject.userId] : [])),
  );
  const sessionIds = unique(
    requests.flatMap((r) => (r.subject.kind === 'session' ? [r.subject.sessionId] : [])),
  );
  const itemIds = unique(
    requests.flatMap((r) => [
      ...(r.subject.kind === 'anonymous'
        ? r.subject.events.flatMap((e) => (e.itemId ? [e.itemId] : []))
        : []),
      ...(r.context?.itemId ? [r.context.itemId] : []),
    ]),
  );
  const categoryIds = unique(
    requests.flatMap((r) => (r.context?.categoryId ? [r.context.categoryId] : [])),
  );
  const [users, sessions, knownItems, knownCategories] = await Promise.all([
    subjectHistories(db, 'user', userIds, HISTORY_LIMIT),
    subjectHistories(db, 'session', sessionIds, HISTORY_LIMIT),
    existingItemIds(db, itemIds),
    existingCategoryIds(db, categoryIds),
  ]);
  const subjects = requests.map((request): ResolvedSubject | Error => {
    const s = request.subject;
    const ctx = request.context;
    if (ctx?.itemId && !knownItems.has(ctx.itemId))
      return badUserInput('context.itemId', `no item with id "${ctx.itemId}"`);
    if (ctx?.categoryId && !knownCategories.has(ctx.categoryId))
      return badUserInput('context.categoryId', `no category with id "${ctx.categoryId}"`);
    // The context item is what the visitor is looking at now: the newest event.
    const withContext = (events: readonly SequenceEvent[]) =>
      ctx?.itemId ? [...events, { itemId: ctx.itemId, type: 'VIEW', occurredAt: null }] : events;
    const contextEvent = Boolean(ctx?.itemId);
    if (s.kind === 'user' || s.kind === 'session') {
      const id = s.kind === 'user' ? s.userId : s.sessionId;
      const history = (s.kind === 'user' ? users : sessions).get(id);
      if (history === undefined)
        return new CodedError(ErrorCode.NOT_FOUND, `no ${s.kind} with id "${id}"`);
      const rows = history.events;
      return {
        dataset: history.dataset,
        rows,
        events: withContext(
          rows.map((r) => ({ itemId: r.itemId, type: r.type, occurredAt: r.occurredAt })),
        ),
        userId: s.kind === 'user' ? id : (rows[0]?.userId ?? null),
        sessionId: s.kind === 'session' ? id : null,
        profile: history.profile,
        contextEvent,
      };
    }
    const missing = s.events.findIndex((e) => e.itemId !== null && !knownItems.has(e.itemId));
    if (missing >= 0) {
      return badUserInput(
        `recentEvents[${missing}].itemId`,
        `no item with id "${s.events[missing]?.itemId}"`,
      );
    }
    return {
      dataset: subjectDataset(s, ctx) ?? model.manifest.dataset,
      rows: null,
      events: withContext(s.events),
      userId: null,
      sessionId: null,
      profile: {},
      contextEvent,
    };
  });
  jobs.forEach((job, i) => {
    const s = subjects[i] as ResolvedSubject | Error;
    if (s instanceof Error) job.error = s;
    else job.subject = s;
  });
}
