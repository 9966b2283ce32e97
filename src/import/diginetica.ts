// Importer for the DIGINETICA (CIKM Cup 2016) shop logs: semicolon-separated files with a
// header, recognised by their header, so the excerpts and the full files both work:
// product-categories.csv, products.csv, train-purchases.csv, train-item-views.csv (and the
// published sample-train-item-views.csv), train-queries.csv.
// Times: the source gives the day (`eventdate`) and the milliseconds since the session start
// (`timeframe`), not the time of day; both are kept as they are (occurred_on,
// session_offset_ms) and occurred_at stays null rather than inventing a clock time. A day
// outside the time policy (src/time-policy.ts: not of the calendar, before 1990, after today)
// rejects its row.
import path from 'node:path';
import type { Db } from '../db/client.js';
import { MAX_QUERY_LENGTH, renumberSequences } from '../db/events.js';
import { checkDay } from '../time-policy.js';
import type { ImportOptions } from './amazon.js';
import { silentProgress } from './progress.js';
import { forEachLine, Rejections, report, type ImportReport } from './report.js';
import type { ImportWriter } from './writer.js';
import { ImportWriter as Writer } from './writer.js';

const DATASET = 'diginetica';
const ID = /^\d+$/;

type Kind = 'categories' | 'products' | 'purchases' | 'views' | 'queries';

/** Header (lower-cased, without `_` and `.`) → kind of file. */
const HEADERS: Record<string, Kind> = {
  'itemid;categoryid': 'categories',
  'itemid;pricelog2;productnametokens': 'products',
  'sessionid;userid;timeframe;eventdate;ordernumber;itemid': 'purchases',
  'sessionid;userid;itemid;timeframe;eventdate': 'views',
  'queryid;sessionid;userid;timeframe;duration;eventdate;searchstringtokens;categoryid;items;istest':
    'queries',
};
// Catalogue files first, so that events find their items' categories already there.
const ORDER: Kind[] = ['products', 'categories', 'purchases', 'views', 'queries'];

const normaliseHeader = (line: string) => line.trim().toLowerCase().replace(/[_.]/g, '');

type RowHandler = (f: string[], fail: (reason: string) => void) => Promise<void>;

function handlerFor(kind: Kind, file: string, w: ImportWriter): RowHandler {
  const item = async (raw: string) => {
    const id = `${DATASET}:${raw}`;
    await w.item({ id, dataset: DATASET });
    return id;
  };
  const user = async (raw: string) => {
    if (raw === 'NA') return null;
    const id = `${DATASET}:${raw}`;
    await w.user({ id, dataset: DATASET });
    return id;
  };
  // The published views sample renumbered its sessions: they must not merge with the
  // purchases file's sessions of the same number.
  const sessionPrefix = kind === 'views' && path.basename(file).startsWith('sample-') ? 'v' : '';
  const session = async (raw: string, userId: string | null) => {
    const id = `${DATASET}:${sessionPrefix}${raw}`;
    await w.session({ id, dataset: DATASET, userId });
    return id;
  };
  const isUser = (v: string) => v === 'NA' || ID.test(v);

  switch (kind) {
    case 'categories':
      return async ([itemRaw, catRaw], fail) => {
        if (!ID.test(itemRaw ?? '') || !ID.test(catRaw ?? ''))
          return fail('expected itemId;categoryId');
        const categoryId = `${DATASET}:c${catRaw}`;
        await w.category({
          id: categoryId,
          dataset: DATASET,
          name: `category ${catRaw}`,
          parentId: null,
        });
        await w.itemCategory({
          itemId: await item(itemRaw!),
          categoryId,
          position: 0,
        });
      };
    case 'products':
      return async ([itemRaw, priceLog2, tokens], fail) => {
        if (!ID.test(itemRaw ?? '') || !/^-?\d+(\.\d+)?$/.test(priceLog2 ?? ''))
          return fail('expected itemId;pricelog2;product.name.tokens');
        // The price is published only as log2 bucket and the name as hashed tokens: kept as
        // attributes, not turned into an invented price or title.
        const id = `${DATASET}:${itemRaw}`;
        await w.item({
          id,
          dataset: DATASET,
          attributes: {
            priceLog2: Number(priceLog2),
            nameTokens: (tokens ?? '').split(',').filter(Boolean),
          },
        });
      };
    case 'purchases': {
      // An order can list the same item on several lines (quantity); each line is kept, and
      // its occurrence number keeps the client id deterministic for re-imports.
      const occurrences = new Map<string, number>();
      return async ([sess, usr, timeframe, day, order, itemRaw], fail) => {
        if (
          !ID.test(sess ?? '') ||
          !isUser(usr ?? '') ||
          !ID.test(timeframe ?? '') ||
          !ID.test(order ?? '') ||
          !ID.test(itemRaw ?? '')
        )
          return fail('expected sessionId;userId;timeframe;eventdate;ordernumber;itemId');
        const when = checkDay(day);
        if (!when.ok) return fail(`eventdate ${when.reason}`);
        const userId = await user(usr!);
        const line = `${order}:${itemRaw}`;
        const k = (occurrences.get(line) ?? 0) + 1;
        occurrences.set(line, k);
        await w.event({
          clientEventId: `${DATASET}:o${line}:${k}`,
          dataset: DATASET,
          userId,
          sessionId: await session(sess!, userId),
          type: 'PURCHASE',
          itemId: await item(itemRaw!),
          query: null,
          occurredOn: when.value,
          sessionOffsetMs: Number(timeframe),
          seq: 0,
        });
      };
    }
    case 'views':
      return async ([sess, usr, itemRaw, timeframe, day], fail) => {
        if (
          !ID.test(sess ?? '') ||
          !isUser(usr ?? '') ||
          !ID.test(itemRaw ?? '') ||
          !ID.test(timeframe ?? '')
        )
          return fail('expected sessionId;userId;itemId;timeframe;eventdate');
        const when = checkDay(day);
        if (!when.ok) return fail(`eventdate ${when.reason}`);
        const userId = await user(usr!);
        const sessionId = await session(sess!, userId);
        await w.event({
          clientEventId: `${sessionId}:view:${itemRaw}:${timeframe}`,
          dataset: DATASET,
          userId,
          sessionId,
          type: 'VIEW',
          itemId: await item(itemRaw!),
          query: null,
          occurredOn: when.value,
          sessionOffsetMs: Number(timeframe),
          seq: 0,
        });
      };
    case 'queries':
      return async ([queryId, sess, usr, timeframe, , day, tokens], fail) => {
        if (
          !ID.test(queryId ?? '') ||
          !ID.test(sess ?? '') ||
          !isUser(usr ?? '') ||
          !ID.test(timeframe ?? '')
        )
          return fail('expected queryId;sessionId;userId;timeframe;duration;eventdate;…');
        const when = checkDay(day);
        if (!when.ok) return fail(`eventdate ${when.reason}`);
        if ((tokens ?? '').length > MAX_QUERY_LENGTH)
          return fail(
            `searchstring.tokens: at most ${MAX_QUERY_LENGTH} characters, got ${tokens!.length}`,
          );
        const userId = await user(usr!);
        await w.event({
          clientEventId: `${DATASET}:q${queryId}`,
          dataset: DATASET,
          userId,
          sessionId: await session(sess!, userId),
          type: 'SEARCH',
          itemId: null,
          query: tokens || null, // hashed tokens; empty for category browsing
          occurredOn: when.value,
          sessionOffsetMs: Number(timeframe),
          seq: 0,
        });
      };
  }
}

async function headerOf(file: string): Promise<string> {
  const { createReadStream } = await import('node:fs');
  const { createInterface } = await import('node:readline');
  const rl = createInterface({
    input: createReadStream(file, { encoding: 'utf8' }),
  });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return '';
}

export async function importDiginetica(
  db: Db,
  files: string[],
  opts: ImportOptions = {},
): Promise<ImportReport> {
  const started = performance.now();
  const progress = opts.progress ?? silentProgress;
  const writer = new Writer(db, opts.batchSize);
  const rejections = new Rejections(opts.onReject);

  const classified: { file: string; kind: Kind }[] = [];
  for (const file of files) {
    const header = await headerOf(file);
    const kind = HEADERS[normaliseHeader(header)];
    if (!kind)
      rejections.add(file, 1, `unknown DIGINETICA header "${header.slice(0, 120)}"; file skipped`);
    else classified.push({ file, kind });
  }
  classified.sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));

  for (const { file, kind } of classified) {
    const handle = handlerFor(kind, file, writer);
    await forEachLine(file, path.basename(file), progress, async (line, lineNo) => {
      if (lineNo === 1 || line.trim() === '') return; // header, blank
      await handle(line.split(';'), (reason) => rejections.add(file, lineNo, reason));
    });
  }
  await writer.flush();
  // Rows arrive in file order, not history order: number each history by day and offset.
  if (classified.some((c) => c.kind !== 'categories' && c.kind !== 'products'))
    await renumberSequences(db, DATASET);
  await writer.analyze();
  return report(writer, rejections, started);
}
