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

const itemLabel = (it: { id: string; title: string | null; categories: { name: string }[] }) =>
  `${it.title ?? it.id} (${it.categories.map((c) => c.name).join(', ') || 'no category'})`;

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
          e.item ? itemLabel(e.item) : '–',
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
      table(
        ['rank', 'score', 'item', 'why'],
        f.items.map((it) => [
          String(it.rank),
          num(it.score, 3),
          itemLabel(it.item),
          el('ul', {}, ...(it.reasons ?? []).map((r) => el('li', {}, r.message))),
        ]),
        'items',
      ),
      el('h3', {}, 'Next-category distribution'),
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
}

/** The counters of /metrics worth a glance: name{labels} value lines of a few families. */
async function liveCounters(): Promise<string[][]> {
  const res = await fetch('/metrics', { headers: auth() });
  if (!res.ok) return [['(needs an API key with the metrics scope)', String(res.status)]];
  const text = await res.text();
  const keep =
    /^(foresight_forecasts_total|foresight_model_forecasts_total|foresight_forecast_batches_total|foresight_onnx_calls_total|foresight_impressions_total|foresight_feedback_total)\b/;
  return text
    .split('\n')
    .filter((l) => keep.test(l))
    .map((l) => {
      const i = l.lastIndexOf(' ');
      return [l.slice(0, i), l.slice(i + 1)];
    });
}

/** The model serving `userId`'s dataset (the id's prefix: `beauty:17` → `beauty`). */
async function showModel(userId: string): Promise<void> {
  const out = document.getElementById('model') as HTMLElement;
  const at = userId.indexOf(':');
  const query = at > 0 ? `?dataset=${encodeURIComponent(userId.slice(0, at))}` : '';
  try {
    const m = (await (await fetch(`/dashboard/model.json${query}`)).json()) as ModelSummary;
    const counters = await liveCounters();
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
      el('h3', {}, 'Live serving counters (/metrics)'),
      table(['counter', 'value'], counters, 'counters'),
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
    // the model view after the forecast, so that its counters include it
    const user = input.value.trim();
    void showShopper(user).then(() => showModel(user));
  });
  if (input.value) await showShopper(input.value);
  await showModel(input.value);
  document.body.dataset.ready = 'true';
}

void main();
