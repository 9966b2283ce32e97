// The command-line options of the shop-export formats (`--format events|catalogue`), parsed
// into the importers' options; a command-line runner merges SHOP_OPTIONS into its parseArgs
// options and hands the values here. Bad options are ConfigErrors, with what to write instead.
import { ConfigError } from '../../config.js';
import { importShopCatalogue, type ShopCatalogueOptions } from './catalogue.js';
import { DEFAULT_SESSION_GAP_MINUTES, importShopEvents, type ShopEventsOptions } from './events.js';
import {
  CATALOGUE_LAYOUT,
  EVENT_LAYOUT,
  optionName,
  parseTypes,
  TIME_FORMATS,
  type TimeFormat,
} from './mapping.js';
import type { RowsFormat } from './rows.js';
import type { Db } from '../../db/client.js';
import { EVENT_TYPES, type EventType } from '../../db/events.js';
import type { ImportReport } from '../report.js';
import type { ProgressSink } from '../progress.js';

export const SHOP_FORMATS = ['events', 'catalogue'] as const;
export type ShopFormat = (typeof SHOP_FORMATS)[number];

/** For node:util parseArgs. */
export const SHOP_OPTIONS = {
  dataset: { type: 'string' },
  columns: { type: 'string' },
  header: { type: 'string' },
  delimiter: { type: 'string' },
  input: { type: 'string' },
  types: { type: 'string' },
  type: { type: 'string' },
  null: { type: 'string' },
  'time-format': { type: 'string' },
  'assume-utc': { type: 'boolean' },
  'session-gap': { type: 'string' },
  'event-ids': { type: 'string' },
  category: { type: 'string' },
  'list-separator': { type: 'string' },
} as const;

export const SHOP_USAGE = `  events:     CSV or JSON Lines, one event per row: --dataset NAME [--columns field=column,…]
              [--types word=TYPE,…] [--type TYPE (files without a type column)] [--time-format auto|epoch-s|epoch-ms|iso|day] [--assume-utc]
              [--session-gap MINUTES (${DEFAULT_SESSION_GAP_MINUTES})] [--event-ids content|line]
  catalogue:  CSV or JSON Lines, one item per row: --dataset NAME [--columns field=column,…]
              [--category path|id] [--list-separator |]
  both:       [--input csv|jsonl] [--delimiter X] [--header col,col,… (the file has no header row)]
              [--null NA,… (cell texts that mean empty)]
              (docs/import.md)`;

export type ShopValues = Partial<Record<keyof typeof SHOP_OPTIONS, string | boolean>>;

const DATASET = /^[a-z0-9][a-z0-9_.-]{0,63}$/i;

function pairs(option: string, spec: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of (spec ?? '').split(',').filter((p) => p.trim() !== '')) {
    const [field, column] = pair.split('=').map((s) => s.trim());
    if (!field || !column) throw new ConfigError(`--${option}: "${pair}" is not field=column`);
    out.set(field.toLowerCase(), column);
  }
  return out;
}

/** The import of `files` in `format` that the option values describe, ready to run. */
export function shopImport(
  format: ShopFormat,
  values: ShopValues,
  files: string[],
  common: { progress?: ProgressSink; onReject?: (m: string) => void; batchSize?: number },
): (db: Db) => Promise<ImportReport> {
  const str = (k: keyof typeof SHOP_OPTIONS) =>
    typeof values[k] === 'string' ? (values[k] as string) : undefined;
  const dataset = str('dataset');
  if (!dataset || !DATASET.test(dataset))
    throw new ConfigError(
      '--dataset is required: the name that namespaces the ids (letters, digits, _ . -; e.g. myshop)',
    );
  const input = str('input');
  if (input !== undefined && input !== 'csv' && input !== 'jsonl')
    throw new ConfigError('--input must be csv or jsonl');
  const delimiter = str('delimiter')?.replace(/^\\t$/, '\t');
  if (delimiter !== undefined && delimiter.length !== 1)
    throw new ConfigError('--delimiter must be one character (\\t for a tab)');
  const header = str('header')
    ?.split(',')
    .map((c) => c.trim());
  const nulls = str('null')
    ?.split(',')
    .map((w) => w.trim())
    .filter((w) => w !== '');
  const rows = {
    ...(nulls?.length && { nulls: new Set(nulls) }),
    ...(input && { format: input as RowsFormat }),
    ...(delimiter && { delimiter }),
    ...(header && { header }),
  };
  const columns = pairs('columns', str('columns'));
  const fields = Object.keys(format === 'events' ? EVENT_LAYOUT : CATALOGUE_LAYOUT).map(optionName);
  for (const field of columns.keys())
    if (!fields.includes(field))
      throw new ConfigError(
        `--columns: ${field} is not a field of --format ${format} (fields: ${fields.join(', ')})`,
      );
  const base = { dataset, columns, rows, ...common };

  if (format === 'catalogue') {
    const category = str('category') ?? 'path';
    if (category !== 'path' && category !== 'id')
      throw new ConfigError('--category must be path (name paths, `Women > Shoes`) or id');
    const opts: ShopCatalogueOptions = { ...base, category };
    const separator = str('list-separator');
    if (separator !== undefined) opts.listSeparator = separator;
    return (db) => importShopCatalogue(db, files, opts);
  }
  const timeFormat = str('time-format') ?? 'auto';
  if (!(TIME_FORMATS as readonly string[]).includes(timeFormat))
    throw new ConfigError(`--time-format must be one of ${TIME_FORMATS.join(', ')}`);
  const gap = Number(str('session-gap') ?? DEFAULT_SESSION_GAP_MINUTES);
  if (!Number.isFinite(gap) || gap <= 0)
    throw new ConfigError('--session-gap must be a number of minutes > 0');
  let types;
  try {
    types = parseTypes(str('types'));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const fixed = str('type')?.toUpperCase();
  if (fixed !== undefined && !(EVENT_TYPES as readonly string[]).includes(fixed))
    throw new ConfigError(`--type must be one of ${EVENT_TYPES.join(', ')}`);
  const eventIds = str('event-ids') ?? 'content';
  if (eventIds !== 'content' && eventIds !== 'line')
    throw new ConfigError(
      '--event-ids must be content (what the row says) or line (file and line)',
    );
  const opts: ShopEventsOptions = {
    eventIds,
    ...base,
    types,
    ...(fixed && { type: fixed as EventType }),
    timeFormat: timeFormat as TimeFormat,
    assumeUtc: values['assume-utc'] === true,
    sessionGapMinutes: gap,
  };
  return (db) => importShopEvents(db, files, opts);
}
