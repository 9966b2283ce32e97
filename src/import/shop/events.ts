// Importer for a shop's own behaviour exports (`--format events`): one event per row of CSV or
// JSON Lines files (docs/import.md: columns, options, examples). Raw ids are namespaced by the
// dataset; users, sessions, items (bare: the catalogue importer fills them) and categories are
// created on first sight; times go through the time policy. Idempotent: an event's client id is
// its `event_id` column, else a hash of what the row says (dataset, user, session, item, type,
// time, query), so importing a file again — or an overlapping export under another name — adds
// nothing (or, with `eventIds: 'line'`, of the file's name and the row's line, for exports whose
// rows may say the same twice). Rows without a session get sessions cut at an inactivity gap.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Db } from '../../db/client.js';
import { MAX_QUERY_LENGTH, renumberSequences, type EventType } from '../../db/events.js';
import { cutSessionsByInactivity, refreshSessionTimes } from '../../db/sessions.js';
import { MAX_ID_LENGTH } from '../../input-rules.js';
import type { ProgressSink } from '../progress.js';
import { Rejections, report, type ImportReport } from '../report.js';
import { ImportWriter } from '../writer.js';
import {
  EVENT_LAYOUT,
  forEachMappedRow,
  missingColumn,
  namespaced,
  optionName,
  readTime,
  text,
  type EventField,
  type TimeFormat,
} from './mapping.js';
import type { RowsOptions, RowValue } from './rows.js';

/** A session ends after this much inactivity of its shopper (unless `sessionGapMinutes`). */
export const DEFAULT_SESSION_GAP_MINUTES = 30;

export interface ShopEventsOptions {
  dataset: string;
  /** The shop's words for event types (mapping.ts parseTypes). */
  types: ReadonlyMap<string, EventType>;
  /** The type of every row of a file without a type column (an orders export: PURCHASE). */
  type?: EventType;
  /** `--columns`: field (as `user_id`) → column name. */
  columns?: ReadonlyMap<string, string>;
  timeFormat?: TimeFormat;
  /** ISO times without a zone are UTC. */
  assumeUtc?: boolean;
  sessionGapMinutes?: number;
  /**
   * Client ids of rows without an `event_id`: from what the row says (`content`, the default:
   * an overlapping export under another name adds nothing, but two rows that say the same are
   * one event) or from the file's name and the row's line (`line`: every row is an event, and
   * only the same file imported again adds nothing).
   */
  eventIds?: 'content' | 'line';
  rows?: RowsOptions;
  progress?: ProgressSink;
  batchSize?: number;
  onReject?: (message: string) => void;
}

export async function importShopEvents(
  db: Db,
  files: string[],
  opts: ShopEventsOptions,
): Promise<ImportReport> {
  const started = performance.now();
  const { dataset } = opts;
  const writer = new ImportWriter(db, opts.batchSize);
  const rejections = new Rejections(opts.onReject);
  const mapped = {
    layout: EVENT_LAYOUT,
    check: (columns: Map<EventField, string>) =>
      !columns.has('type') && !opts.type
        ? `${missingColumn(EVENT_LAYOUT, 'type')}, or --type TYPE for every row`
        : columns.has('offsetMs') && !columns.has('sessionId')
          ? 'offset_ms needs a session_id column: it counts from the start of the session'
          : !columns.has('itemId')
            ? missingColumn(EVENT_LAYOUT, 'itemId')
            : !columns.has('userId') && !columns.has('sessionId')
              ? missingColumn(EVENT_LAYOUT, 'userId')
              : null,
    columns: opts.columns,
    rows: opts.rows,
    progress: opts.progress,
  };
  for (const file of files)
    await forEachMappedRow(
      file,
      mapped,
      (row, columns, line) => {
        const fail = (reason: string) => rejections.add(file, line, reason);
        const place = opts.eventIds === 'line' ? `${path.basename(file)}:${line}` : null;
        return importRow(row, columns, opts, writer, fail, place);
      },
      (line, reason) => rejections.add(file, line, reason),
    );
  await writer.flush();
  const cut = await cutSessionsByInactivity(
    db,
    dataset,
    (opts.sessionGapMinutes ?? DEFAULT_SESSION_GAP_MINUTES) * 60_000,
  );
  writer.counts.sessions.read += cut.sessions;
  writer.counts.sessions.inserted += cut.sessions;
  await refreshSessionTimes(db, dataset);
  // Rows come in file order, not history order: each history numbered by time.
  if (writer.counts.events.inserted > 0) await renumberSequences(db, dataset);
  await writer.analyze();
  return report(writer, rejections, started);
}

async function importRow(
  row: Map<string, RowValue>,
  columns: Map<EventField, string>,
  opts: ShopEventsOptions,
  w: ImportWriter,
  fail: (reason: string) => void,
  /** `file:line` when client ids come from the row's place (eventIds: line). */
  place: string | null,
): Promise<void> {
  const { dataset } = opts;
  const get = (f: EventField) => text(row, columns.get(f));
  const ids: Partial<Record<'userId' | 'sessionId' | 'itemId' | 'categoryId' | 'eventId', string>> =
    {};
  for (const f of ['userId', 'sessionId', 'itemId', 'categoryId', 'eventId'] as const) {
    const raw = get(f);
    if (raw === undefined) continue;
    const id = namespaced(dataset, raw);
    if (id.length > MAX_ID_LENGTH)
      return fail(`${optionName(f)}: at most ${MAX_ID_LENGTH} characters with the dataset prefix`);
    ids[f] = id;
  }
  const word = columns.has('type') ? get('type') : undefined;
  if (word === undefined && (columns.has('type') || !opts.type)) return fail('type: empty');
  const type = word === undefined ? opts.type : opts.types.get(word.toLowerCase());
  if (type === undefined) return fail(`type: "${word}" is not mapped (add --types ${word}=VIEW|…)`);
  if (!ids.userId && !ids.sessionId) return fail('user_id: empty, and no session_id either');
  const query = get('query') ?? null;
  if (type === 'SEARCH' && query === null) return fail('query: a SEARCH needs its search text');
  if (query !== null && query.length > MAX_QUERY_LENGTH)
    return fail(`query: at most ${MAX_QUERY_LENGTH} characters`);
  if (type !== 'SEARCH' && !ids.itemId) return fail(`item_id: a ${type} needs its item`);
  let at: Date | null = null;
  let day: string | null = null;
  if (columns.has('time')) {
    const raw = get('time');
    if (raw === undefined) return fail('time: empty');
    const t = readTime(raw, opts.timeFormat ?? 'auto', opts.assumeUtc ?? false);
    if ('problem' in t) return fail(`time: ${t.problem}`);
    ({ at, day } = t);
  }
  // The milliseconds since the session started, next to a day: the time of day is not known,
  // the order and gaps within the session are (DIGINETICA's `timeframe`).
  let offsetMs: number | null = null;
  const offset = get('offsetMs');
  if (offset !== undefined) {
    if (day === null) return fail('offset_ms: needs a day in the time column (YYYY-MM-DD)');
    if (!ids.sessionId) return fail('offset_ms: needs a session_id');
    if (!/^\d{1,15}$/.test(offset))
      return fail(`offset_ms: "${offset}" is not whole milliseconds ≥ 0`);
    offsetMs = Number(offset);
  }

  const userId = ids.userId ?? null;
  if (userId) await w.user({ id: userId, dataset });
  if (ids.sessionId) await w.session({ id: ids.sessionId, dataset, userId });
  if (ids.itemId) {
    await w.item({ id: ids.itemId, dataset });
    if (ids.categoryId) {
      const raw = get('categoryId') as string;
      await w.category({ id: ids.categoryId, dataset, name: raw, parentId: null });
      await w.itemCategory({ itemId: ids.itemId, categoryId: ids.categoryId, position: 0 });
    }
  }
  const what = [
    userId,
    ids.sessionId ?? null,
    ids.itemId ?? null,
    type,
    at?.toISOString() ?? day,
    query,
    // only when given, so that the ids of rows without an offset stay as they were
    ...(offsetMs === null ? [] : [offsetMs]),
  ];
  const hash = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex');
  await w.event({
    clientEventId:
      ids.eventId ??
      (place
        ? `${dataset}:l${hash(place).slice(0, 32)}`
        : `${dataset}:r${hash(what).slice(0, 32)}`),
    dataset,
    userId,
    sessionId: ids.sessionId ?? null,
    type,
    itemId: ids.itemId ?? null,
    query,
    occurredAt: at,
    occurredOn: day,
    sessionOffsetMs: offsetMs,
    seq: 0,
  });
}
