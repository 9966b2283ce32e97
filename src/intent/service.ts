// Purchase intent for a merged batch of forecasts: the features of every session subject (its
// stored page views and visit, or its imported aggregate) and of every anonymous visitor's
// page views, then one ONNX call for the whole batch. Users (across sessions) and subjects
// without page views get no probability, with the reason.
import type { Queryable } from '../db/client.js';
import { sessionIntentInputs } from '../db/intent.js';
import {
  featuresFromPageViews,
  featuresFromSummary,
  INTENT_FEATURES,
  type PageViewRecord,
} from './features.js';
import { log } from '../log.js';
import type { IntentModel } from './model.js';

export interface PurchaseIntent {
  probability: number | null;
  likely: boolean | null;
  modelVersion: string | null;
  source: 'EVENTS' | 'AGGREGATE' | 'NONE';
  pageViews: number;
  reason: string | null;
}

export type IntentSubject =
  | { kind: 'user' }
  | { kind: 'session'; sessionId: string }
  | { kind: 'anonymous'; pages: readonly PageViewRecord[] };

const none = (reason: string, pageViews = 0): PurchaseIntent => ({
  probability: null,
  likely: null,
  modelVersion: null,
  source: 'NONE',
  pageViews,
  reason,
});

/** The answer when the intent statement or model failed (the forecast is served without it). */
export function intentFailed(err: unknown, n: number): PurchaseIntent[] {
  log.error({ err }, 'purchase intent failed for a forecast batch');
  return Array.from({ length: n }, () => INTENT_FAILED);
}
const INTENT_FAILED = none(
  "the purchase-intent model failed on this batch (the gateway's log says why)",
);

/** The intent of a forecast whose query did not select it: not computed. */
export const NOT_SELECTED = none('purchase intent was not selected by the query: not computed');

export const NO_INTENT_MODEL = none(
  'no purchase-intent model is loaded (INTENT_MODEL_DIR holds no intent.json)',
);
const PER_SESSION = none(
  'purchase intent is per visit: ask with sessionId, or recentEvents with page views',
);
const NO_PAGES = none('no page views with a page kind (EventInput.page) in this visit');
const BAD_AGGREGATE = none(
  `the session's imported aggregate is not ${INTENT_FEATURES.length} finite numbers`,
);

/** Stored aggregate features, checked: they come from the database, not from the model. */
function aggregateFeatures(x: unknown): number[] | null {
  return Array.isArray(x) &&
    x.length === INTENT_FEATURES.length &&
    x.every((v) => typeof v === 'number' && Number.isFinite(v))
    ? (x as number[])
    : null;
}

/** One PurchaseIntent per subject, in order. */
export async function purchaseIntents(
  q: Queryable,
  model: IntentModel | null,
  subjects: readonly IntentSubject[],
  now: Date,
): Promise<PurchaseIntent[]> {
  if (!model) return subjects.map(() => NO_INTENT_MODEL);
  const sessionIds = subjects.flatMap((s) => (s.kind === 'session' ? [s.sessionId] : []));
  const sessions = await sessionIntentInputs(q, sessionIds);
  const rows: number[][] = [];
  const pending: { index: number; source: 'EVENTS' | 'AGGREGATE'; pageViews: number }[] = [];
  const out: PurchaseIntent[] = subjects.map((s, index) => {
    let features: number[] | null = null;
    let pageViews = 0;
    let source: 'EVENTS' | 'AGGREGATE' = 'EVENTS';
    if (s.kind === 'user') return PER_SESSION;
    if (s.kind === 'anonymous') {
      pageViews = s.pages.length;
      features = featuresFromPageViews(s.pages, {}, 'NEW', now);
    } else {
      const input = sessions.get(s.sessionId);
      if (input?.aggregate && input.pageViews === 0) {
        features = aggregateFeatures(input.aggregate.features);
        if (!features) return BAD_AGGREGATE;
        source = 'AGGREGATE';
      } else if (input?.summary) {
        pageViews = input.pageViews;
        const visitor = input.returning ? 'RETURNING' : 'NEW';
        features = featuresFromSummary(input.summary, input.visit, visitor, now);
      }
    }
    if (!features) return NO_PAGES;
    rows.push(features);
    pending.push({ index, source, pageViews });
    return NO_PAGES; // replaced below
  });
  const probabilities = await model.predict(rows);
  pending.forEach(({ index, source, pageViews }, k) => {
    const p = probabilities[k] as number;
    out[index] = {
      probability: p,
      likely: p >= model.manifest.threshold,
      modelVersion: model.version,
      source,
      pageViews,
      reason: null,
    };
  });
  return out;
}
