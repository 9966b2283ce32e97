// How a shop's export maps onto Foresight without code: which column holds which field (by
// default the usual names, e.g. user_id / customer_id; `--columns field=name` otherwise), the
// shop's own words for event types (`--types pv=VIEW,fav=WISHLIST`), how times are written
// (epoch seconds or milliseconds, ISO date-times, days; every one checked by the time policy)
// and the dataset that namespaces raw ids. docs/import.md documents the layouts.
import path from 'node:path';
import { ConfigError } from '../../config.js';
import { EVENT_TYPES, type EventType } from '../../db/events.js';
import { checkDay, checkEpoch, checkInstant } from '../../time-policy.js';
import type { ProgressSink } from '../progress.js';
import { silentProgress } from '../progress.js';
import { columnName, forEachRow, rowsFormatOf, type RowsOptions, type RowValue } from './rows.js';

/** A field of a format, and the column names that hold it unless `--columns` says otherwise. */
export type Layout<F extends string> = Record<F, readonly string[]>;

export const EVENT_LAYOUT = {
  eventId: ['event_id', 'client_event_id', 'id'],
  userId: ['user_id', 'user', 'customer_id', 'visitor_id', 'shopper_id'],
  sessionId: ['session_id', 'session', 'visit_id'],
  itemId: ['item_id', 'item', 'product_id', 'sku'],
  categoryId: ['category_id', 'category'],
  type: ['type', 'event_type', 'behavior_type', 'behaviour_type', 'action'],
  time: ['timestamp', 'time', 'occurred_at', 'event_time', 'datetime', 'date'],
  offsetMs: ['offset_ms', 'session_offset_ms'],
  query: ['query', 'search', 'search_query'],
} as const satisfies Layout<string>;
export type EventField = keyof typeof EVENT_LAYOUT;

export const CATALOGUE_LAYOUT = {
  id: ['id', 'item_id', 'product_id', 'sku'],
  title: ['title', 'name', 'product_name'],
  description: ['description'],
  brand: ['brand'],
  price: ['price'],
  inStock: ['in_stock', 'stock', 'available', 'availability'],
  category: ['category', 'categories', 'category_id', 'category_path'],
} as const satisfies Layout<string>;
export type CatalogueField = keyof typeof CATALOGUE_LAYOUT;

/** The field names of a layout as `--columns` takes them (`user_id`, `in_stock`). */
export const optionName = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Each field's column among `columns` (normalised names): the one `--columns` names, else the
 * first usual name present. Fields no column holds are absent.
 */
export function columnsOf<F extends string>(
  layout: Layout<F>,
  columns: ReadonlySet<string>,
  overrides: ReadonlyMap<string, string>,
): Map<F, string> {
  const out = new Map<F, string>();
  for (const [field, usual] of Object.entries(layout) as [F, readonly string[]][]) {
    const given = overrides.get(optionName(field));
    const name =
      given !== undefined ? columnName(given) : usual.map(columnName).find((c) => columns.has(c));
    if (name !== undefined && columns.has(name)) out.set(field, name);
  }
  return out;
}

/** What a file must have: `check` says what is missing from its columns, or null. */
export interface MappedFile<F extends string> {
  layout: Layout<F>;
  check: (columns: Map<F, string>) => string | null;
  /** `--columns`: field (as `user_id`) → column name. */
  columns?: ReadonlyMap<string, string> | undefined;
  rows?: RowsOptions | undefined;
  progress?: ProgressSink | undefined;
}

/**
 * Calls `onRow` with each row of `file` and the columns of the layout's fields: found once from
 * a CSV header (a file that lacks what `check` wants, or a column `--columns` names, is refused
 * with a ConfigError saying what to write instead), and per line in JSON Lines, where each line names its own keys
 * and a key a line leaves out is an empty value.
 */
export async function forEachMappedRow<F extends string>(
  file: string,
  m: MappedFile<F>,
  onRow: (row: Map<string, RowValue>, columns: Map<F, string>, line: number) => Promise<void>,
  onBad: (line: number, reason: string) => void,
): Promise<void> {
  const overrides = m.columns ?? new Map<string, string>();
  const jsonl = (m.rows?.format ?? rowsFormatOf(file)) === 'jsonl';
  let header: Map<F, string> | null = null;
  const fromHeader = (row: Map<string, RowValue>) => {
    const present = new Set(row.keys());
    for (const [field, column] of overrides)
      if (!present.has(columnName(column)))
        throw new ConfigError(`${file}: --columns ${field}=${column}: the file has no such column`);
    const columns = columnsOf(m.layout, present, overrides);
    const missing = m.check(columns);
    if (missing) throw new ConfigError(`${file}: ${missing}`);
    return columns;
  };
  await forEachRow(
    file,
    path.basename(file),
    m.rows ?? {},
    m.progress ?? silentProgress,
    (row, line) =>
      onRow(
        row,
        jsonl ? columnsOf(m.layout, new Set(row.keys()), overrides) : (header ??= fromHeader(row)),
        line,
      ),
    onBad,
  );
}

/** What `check` says of a missing field: its usual names, and the option that names another. */
export function missingColumn(layout: Layout<string>, field: string): string {
  return `no column for ${optionName(field)} (usual names: ${(layout[field] ?? []).join(
    ', ',
  )}; or --columns ${optionName(field)}=<column>)`;
}

/** The type words of `--types` (`pv=VIEW,fav=WISHLIST`) and the type names themselves. */
export function parseTypes(spec: string | undefined): Map<string, EventType> {
  const words = new Map<string, EventType>(EVENT_TYPES.map((t) => [t.toLowerCase(), t]));
  for (const pair of (spec ?? '').split(',').filter((p) => p.trim() !== '')) {
    const [word, type] = pair.split('=').map((s) => s.trim());
    const t = type?.toUpperCase();
    if (!word || !t || !(EVENT_TYPES as readonly string[]).includes(t))
      throw new Error(
        `--types: "${pair}" is not word=TYPE with TYPE one of ${EVENT_TYPES.join(', ')}`,
      );
    words.set(word.toLowerCase(), t as EventType);
  }
  return words;
}

export const TIME_FORMATS = ['auto', 'epoch-s', 'epoch-ms', 'iso', 'day'] as const;
export type TimeFormat = (typeof TIME_FORMATS)[number];

/** A time read from a file: an instant, or only a day. */
export type ReadTime = { at: Date; day: null } | { at: null; day: string };

const ZONE = /(?:[Zz]|[+-]\d{2}:\d{2})$/;

/**
 * `text` as a time in `format` (auto: digits are epoch seconds below 10^11, milliseconds above —
 * 10^11 s is the year 5138 and 10^11 ms falls before 1990, so within the policy they cannot be
 * confused; `YYYY-MM-DD` is a day; anything else ISO), checked by the time policy. An ISO time
 * may separate day and time by a space; one without a zone is refused unless `assumeUtc`.
 */
export function readTime(
  text: string,
  format: TimeFormat,
  assumeUtc: boolean,
  now = Date.now(),
): ReadTime | { problem: string } {
  const t = text.trim();
  const kind =
    format !== 'auto'
      ? format
      : /^\d+(\.\d+)?$/.test(t)
        ? Number(t) < 1e11
          ? 'epoch-s'
          : 'epoch-ms'
        : /^\d{4}-\d{2}-\d{2}$/.test(t)
          ? 'day'
          : 'iso';
  if (kind === 'day') {
    const d = checkDay(t, now);
    return d.ok ? { at: null, day: d.value } : { problem: d.reason };
  }
  if (kind === 'iso') {
    let iso = t.replace(/^(\d{4}-\d{2}-\d{2}) (\d)/, '$1T$2');
    if (assumeUtc && /T/.test(iso) && !ZONE.test(iso)) iso += 'Z';
    const c = checkInstant(iso, now);
    return c.ok ? { at: c.value, day: null } : { problem: c.reason };
  }
  const c = checkEpoch(t, kind === 'epoch-s' ? 's' : 'ms', now);
  return c.ok ? { at: c.value, day: null } : { problem: c.reason };
}

/** `raw` in `dataset` (`sku-77` → `myshop:sku-77`); an id already of the dataset stays as it is. */
export function namespaced(dataset: string, raw: string): string {
  return raw.startsWith(`${dataset}:`) ? raw : `${dataset}:${raw}`;
}

/**
 * A row's text in `column` (trimmed), or undefined when the row has none or it is empty (a
 * list, from JSON, counts as none: only `values` reads lists).
 */
export function text(row: Map<string, RowValue>, column: string | undefined): string | undefined {
  const v = column === undefined ? undefined : row.get(column);
  const s = typeof v === 'string' ? v.trim() : undefined;
  return s === '' ? undefined : s;
}

/** A row's texts in `column`: a JSON list, or text split at `separator`; empty ones dropped. */
export function values(
  row: Map<string, RowValue>,
  column: string | undefined,
  separator: string,
): string[] {
  const v = column === undefined ? undefined : row.get(column);
  const list = Array.isArray(v) ? v : v === undefined ? [] : v.split(separator);
  return list.map((x) => x.trim()).filter((x) => x !== '');
}
