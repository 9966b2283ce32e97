// The Foresight dashboard (served at /dashboard, bundled by esbuild when the gateway starts):
// pick a shopper and see their recent events, the forecast with its reasons, the next-category
// distribution, the interest timeline and drift; the model view shows the offline metrics and
// the live serving counters. Everything comes from this gateway: GraphQL, /metrics and
// /dashboard/model.json.
import {
  DashboardShopperDocument,
  DashboardUsersDocument,
  type DashboardShopperQuery,
  type DashboardUsersQuery,
  type TypedDocumentString,
} from './gql/graphql.js';
import { parseMetrics, REFRESH_MS, summarise, summaryLines } from './live.js';

const KEY_STORAGE = 'foresight-api-key';

/** The API key typed into the header (kept for this tab only), as request headers. */
function auth(): Record<string, string> {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** Runs a typed document (dashboard/gql/, from dashboard/operations.graphql) on /graphql. */
async function gql<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables?: TVariables,
): Promise<TResult> {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth() },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  if (res.status === 401) {
    throw new Error('this gateway requires an API key: enter one with the read scope above');
  }
  const body = (await res.json()) as { data?: TResult; errors?: { message: string }[] };
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
  return body.data as TResult;
}

/** An element with text or children; text is always set as text, never parsed as HTML. */
function el(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const num = (x: number | null | undefined, digits = 4) =>
  x === null || x === undefined ? '–' : x.toFixed(digits);

type ShopperData = DashboardShopperQuery;

/** How a shop's staff name a strategy (ForecastStrategy in schema/forecast.graphql). */
const STRATEGY: Record<string, string> = {
  SEQUENCE_MODEL: "the sequence model, from the shopper's own history",
  CONTEXT_ITEM_MODEL: 'the sequence model, from the item on screen alone',
  CATEGORY_POPULARITY: 'best sellers of the category on screen',
  SEGMENT_POPULARITY: 'best sellers among similar shoppers',
  DATASET_POPULARITY: 'best sellers of the shop',
  CATALOGUE: 'the newest items (nothing sold yet)',
  GLOBAL_POPULARITY: 'best sellers of every shop',
};

type LabelledItem = {
  id: string;
  title: string | null;
  brand: string | null;
  categories: { name: string; parent: { name: string } | null }[];
};

/** The product's title, else its id. */
const itemName = (it: LabelledItem) => it.title ?? it.id;

/**
 * What kind of product it is: its brand and its deepest categories as a path (`Makeup › Eyes ›
 * Mascara`), the brand's own attribute left out (it is a root named like the brand).
 */
function itemKind(it: LabelledItem): string {
  const cats = it.categories.filter((c) => c.name !== it.brand);
  const parents = new Set(cats.flatMap((c) => (c.parent ? [c.parent.name] : [])));
  const leaves = cats.filter((c) => !parents.has(c.name));
  const path = leaves.map((c) => (c.parent ? `${c.parent.name} › ${c.name}` : c.name)).join(', ');
  return [it.brand, path].filter(Boolean).join(' · ') || 'no category';
}

function itemCell(it: LabelledItem): HTMLElement {
  return el(
    'div',
    { class: 'product', title: it.id },
    el('span', { class: 'name' }, itemName(it)),
    el('span', { class: 'muted kind' }, itemKind(it)),
  );
}

/** Horizontal bars, one per category, as inline SVG. */
function categoryChart(cats: { probability: number; category: { name: string } }[]): SVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const row = 26;
  const width = 560;
  const label = 200;
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${row * cats.length + 4}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'next-category distribution');
  svg.classList.add('chart');
  const top = Math.max(...cats.map((c) => c.probability), 1e-9);
  cats.forEach((c, k) => {
    const y = k * row + 2;
    const text = document.createElementNS(ns, 'text');
    text.setAttribute('x', '0');
    text.setAttribute('y', String(y + 17));
    text.textContent = c.category.name;
    text.classList.add('label');
    const bar = document.createElementNS(ns, 'rect');
    bar.setAttribute('x', String(label));
    bar.setAttribute('y', String(y + 4));
    bar.setAttribute('height', String(row - 8));
    bar.setAttribute('width', String(((width - label - 70) * c.probability) / top));
    bar.classList.add('bar');
    const value = document.createElementNS(ns, 'text');
    value.setAttribute('x', String(label + ((width - label - 70) * c.probability) / top + 6));
    value.setAttribute('y', String(y + 17));
    value.textContent = pct(c.probability);
    svg.append(text, bar, value);
  });
  return svg;
}

function table(head: string[], rows: (string | Node)[][], cls = ''): HTMLElement {
  return el(
    'table',
    cls ? { class: cls } : {},
    el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))),
  );
}

async function showShopper(userId: string): Promise<void> {
  const out = document.getElementById('shopper') as HTMLElement;
  out.replaceChildren(el('p', { class: 'muted' }, `Loading ${userId}…`));
  let data: ShopperData;
  try {
    data = await gql(DashboardShopperDocument, { u: userId });
  } catch (err) {
    out.replaceChildren(el('p', { class: 'error' }, (err as Error).message));
    return;
  }
  const u = data.user;
  if (!u) {
    out.replaceChildren(el('p', { class: 'error' }, `No shopper "${userId}".`));
    return;
  }
  const f = u.interestForecast;
  const drift = u.interestDrift;
  out.replaceChildren(
    el(
      'section',
      {},
      el('h2', {}, 'Recent events'),
      table(
        ['#', 'type', 'when', 'item'],
        u.events.edges.map(({ node: e }) => [
          String(e.sequence),
          e.type,
          e.occurredAt ?? 'no time (source has none)',
          e.item ? itemCell(e.item) : '–',
        ]),
        'events',
      ),
    ),
    el(
      'section',
      { class: 'forecast' },
      el('h2', {}, 'Forecast'),
      el(
        'p',
        { class: 'muted' },
        `${f.mode} · ${f.strategy} · model ${f.modelVersion} on ${f.executionProvider} · from ${f.basedOnEvents} events · forecast ${f.id}`,
      ),
      el(
        'p',
        { class: 'strategy' },
        `Chosen by ${STRATEGY[f.strategy] ?? f.strategy}` +
          (f.strategyDetail ? ` (${f.strategyDetail})` : '') +
          '.',
      ),
      table(
        ['rank', 'score', 'product', 'why'],
        f.items.map((it) => [
          String(it.rank),
          num(it.score, 3),
          itemCell(it.item),
          it.reasons?.length
            ? el('ul', {}, ...it.reasons.map((r) => el('li', {}, r.message)))
            : el('span', { class: 'muted' }, 'nothing beyond the reasons above'),
        ]),
        'items',
      ),
      el('h3', {}, 'Which categories the shopper is likely to buy from next'),
      categoryChart(f.categories),
    ),
    el(
      'section',
      {},
      el('h2', {}, 'Interest timeline (runs of 5 events)'),
      table(
        ['events', 'count', 'top categories'],
        u.interestTimeline.buckets.map((b) => [
          `${b.firstPosition}–${b.lastPosition}`,
          String(b.eventCount),
          b.categories.map((c) => `${c.category.name} ${pct(c.share)}`).join(' · '),
        ]),
        'timeline',
      ),
      el('h3', {}, 'Drift of the newest 5 events'),
      drift
        ? el(
            'p',
            { class: 'drift' },
            `score ${num(drift.score, 3)} ${drift.migrating ? '(migrating)' : '(stable)'} · gained: ` +
              (drift.gained.map((g) => `${g.category.name} +${pct(g.change)}`).join(', ') ||
                'none') +
              ' · lost: ' +
              (drift.lost.map((g) => `${g.category.name} ${pct(g.change)}`).join(', ') || 'none'),
          )
        : el('p', { class: 'muted' }, 'Too few events for a drift score.'),
    ),
  );
}

interface ModelSummary {
  version: string;
  protocol: string;
  /** Where the figures come from: the serving model's model.json, or a metrics.json. */
  source?: string;
  /** The rollout gate's verdict on them (src/serving/gate.ts). */
  gate?: string;
  rows: {
    method: string;
    'HR@10': number;
    'NDCG@10': number;
    'HR@20': number;
    'NDCG@20': number;
  }[];
  /** The next-category forecasters' test figures (model.json metrics.category), or null. */
  category: {
    forecaster: string;
    rule: string | null;
    level: string;
    rows: { method: string; top1: number; top5: number; logLoss: number }[];
    /** Where the data has a category tree: the served forecast at each depth. */
    levels: {
      depth: number;
      categories: number;
      served: { top1: number; top5: number };
      rule: string;
      ruleTop1: number | null;
      ruleTop5: number | null;
    }[];
  } | null;
}

/** The previous read of /metrics, for rates. */
let lastRead: { samples: ReturnType<typeof parseMetrics>; at: number } | null = null;

/** The live counters as sentences (dashboard/live.ts), read again every REFRESH_MS. */
async function showLive(): Promise<void> {
  const out = document.getElementById('live') as HTMLElement;
  const res = await fetch('/metrics', { headers: auth() }).catch((err: unknown) => err as Error);
  if (res instanceof Error || !res.ok) {
    out.replaceChildren(
      el('h2', {}, 'Live'),
      el(
        'p',
        { class: 'muted' },
        res instanceof Error
          ? `/metrics unreachable: ${res.message}`
          : `/metrics answered ${res.status}: enter an API key with the metrics scope above`,
      ),
    );
    return;
  }
  const samples = parseMetrics(await res.text());
  const at = performance.now();
  const summary = summarise(
    samples,
    lastRead ? { samples: lastRead.samples, seconds: (at - lastRead.at) / 1000 } : null,
  );
  lastRead = { samples, at };
  out.replaceChildren(
    el('h2', {}, 'Live'),
    el(
      'dl',
      { class: 'live' },
      ...summaryLines(summary).flatMap(([term, text]) => [el('dt', {}, term), el('dd', {}, text)]),
    ),
  );
}

/** The model serving `userId`'s dataset (the id's prefix: `beauty:17` → `beauty`). */
async function showModel(userId: string): Promise<void> {
  const out = document.getElementById('model') as HTMLElement;
  const at = userId.indexOf(':');
  const query = at > 0 ? `?dataset=${encodeURIComponent(userId.slice(0, at))}` : '';
  try {
    const m = (await (await fetch(`/dashboard/model.json${query}`)).json()) as ModelSummary;
    out.replaceChildren(
      el('h2', {}, `Model ${m.version}`),
      el(
        'p',
        { class: 'muted' },
        `Offline, test split: ${m.protocol}` + (m.source ? ` (from ${m.source})` : ''),
      ),
      ...(m.gate ? [el('p', { class: 'gate' }, m.gate)] : []),
      table(
        ['method', 'HR@10', 'NDCG@10', 'HR@20', 'NDCG@20'],
        m.rows.map((r) => [
          r.method,
          num(r['HR@10']),
          num(r['NDCG@10']),
          num(r['HR@20']),
          num(r['NDCG@20']),
        ]),
        'metrics',
      ),
      ...(m.category
        ? [
            el(
              'h3',
              {},
              `Next-category forecast: ${m.category.forecaster}${m.category.rule ? ` (${m.category.rule})` : ''}`,
            ),
            el('p', { class: 'muted' }, `Offline, test split, at ${m.category.level}`),
            table(
              ['forecaster', 'top-1', 'top-5', 'log loss'],
              m.category.rows.map((r) => [r.method, num(r.top1), num(r.top5), num(r.logLoss)]),
              'category-metrics',
            ),
          ]
        : []),
      ...(m.category && m.category.levels.length > 0
        ? [
            el(
              'p',
              { class: 'muted' },
              'At each depth of the category tree (1 = the top level): the served forecast summed ' +
                'up the tree, against the best rule computed at that depth',
            ),
            table(
              [
                'depth',
                'categories',
                'served top-1',
                'served top-5',
                'best rule',
                'top-1',
                'top-5',
              ],
              m.category.levels.map((l) => [
                String(l.depth),
                String(l.categories),
                num(l.served.top1),
                num(l.served.top5),
                l.rule,
                num(l.ruleTop1),
                num(l.ruleTop5),
              ]),
              'category-levels',
            ),
          ]
        : []),
    );
  } catch (err) {
    out.replaceChildren(el('p', { class: 'error' }, (err as Error).message));
  }
}

async function main(): Promise<void> {
  const form = document.getElementById('pick') as HTMLFormElement;
  const input = document.getElementById('user') as HTMLInputElement;
  const list = document.getElementById('users') as HTMLDataListElement;
  const key = document.getElementById('key') as HTMLInputElement;
  key.value = sessionStorage.getItem(KEY_STORAGE) ?? '';
  key.addEventListener('change', () => {
    if (key.value.trim()) sessionStorage.setItem(KEY_STORAGE, key.value.trim());
    else sessionStorage.removeItem(KEY_STORAGE);
    location.reload();
  });
  let users: DashboardUsersQuery['users'];
  try {
    ({ users } = await gql(DashboardUsersDocument));
  } catch (err) {
    const out = document.getElementById('shopper') as HTMLElement;
    out.replaceChildren(el('p', { class: 'error' }, (err as Error).message));
    document.body.dataset.ready = 'true';
    return;
  }
  list.replaceChildren(...users.edges.map(({ node }) => el('option', { value: node.id })));
  const wanted = new URLSearchParams(location.search).get('user');
  input.value = wanted ?? users.edges[0]?.node.id ?? '';
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    history.replaceState(null, '', `?user=${encodeURIComponent(input.value)}`);
    // the model and live views after the forecast, so that the counters include it
    const user = input.value.trim();
    void showShopper(user).then(() => Promise.all([showModel(user), showLive()]));
  });
  if (input.value) await showShopper(input.value);
  await Promise.all([showModel(input.value), showLive()]);
  setInterval(() => void showLive(), REFRESH_MS);
  document.body.dataset.ready = 'true';
}

void main();
