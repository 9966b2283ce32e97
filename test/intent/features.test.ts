// Training and serving compute the same features: the Python trainer's raw features of real UCI
// rows (models/intent/parity.json) equal the gateway's reading of the same CSV rows and its
// features computed from page views that reproduce them; the ONNX model gives PyTorch's
// probabilities.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  featuresFromPageViews,
  featuresFromUciRow,
  INTENT_FEATURES,
} from '../../src/intent/features.js';
import { IntentModel } from '../../src/intent/model.js';
import { INTENT_DIR, pageViewsOf, parityRows, uciFields } from './uci-rows.js';

const VISITOR = ['RETURNING', 'NEW', 'OTHER'] as const;
const rows = parityRows();

describe('purchase-intent features', () => {
  it('covers purchases and non-purchases, every visitor type, November and December', () => {
    const revenue = rows.map((r) => featuresFromUciRow(uciFields(r.row)).revenue);
    expect(revenue.filter(Boolean).length).toBeGreaterThanOrEqual(10);
    expect(revenue.filter((x) => !x).length).toBeGreaterThanOrEqual(10);
    expect(new Set(rows.map((r) => r.features[15]))).toEqual(new Set([0, 1, 2]));
    const months = new Set(rows.map((r) => r.features[10]));
    expect(months.has(11) && months.has(12)).toBe(true);
  });

  it('reads a CSV row as the trainer does', () => {
    for (const r of rows) {
      const ours = featuresFromUciRow(uciFields(r.row)).features;
      expect(ours).toHaveLength(INTENT_FEATURES.length);
      // the trainer's features are float32, as the ONNX input is
      ours.forEach((x, k) => expect(Math.fround(x)).toBe(Math.fround(r.features[k] as number)));
    }
  });

  it('computes the same features from page views that reproduce a row', () => {
    for (const r of rows) {
      const views = pageViewsOf(r.features).map((v) => ({
        ...v,
        occurredAt: new Date(v.occurredAt),
      }));
      if (views.length === 0) continue; // a session without page views has no features
      const visit = {
        specialDay: r.features[9],
        operatingSystem: r.features[11],
        browser: r.features[12],
        region: r.features[13],
        trafficType: r.features[14],
        visitorType: VISITOR[r.features[15] as number],
      };
      const ours = featuresFromPageViews(views, visit, 'NEW', new Date())!;
      ours.forEach((x, k) => {
        const y = r.features[k] as number;
        expect(Math.abs(x - y)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(y)));
      });
    }
    expect(featuresFromPageViews([], {}, 'NEW', new Date())).toBeNull();
  });

  it('rejects malformed rows with the column named', () => {
    const fields = uciFields(rows[0]!.row);
    const bad = (k: number, v: string) => fields.map((f, i) => (i === k ? v : f));
    expect(() => featuresFromUciRow(bad(1, '-3'))).toThrow('Administrative_Duration');
    expect(() => featuresFromUciRow(bad(10, 'Smarch'))).toThrow('Month');
    expect(() => featuresFromUciRow(bad(15, 'Robot'))).toThrow('VisitorType');
    expect(() => featuresFromUciRow(fields.slice(1))).toThrow('fields');
  });
});

describe('the shipped intent model on ONNX Runtime', () => {
  let model: IntentModel;
  beforeAll(async () => {
    model = await IntentModel.load(INTENT_DIR, 'cpu');
  });
  afterAll(() => model?.release());

  it("gives PyTorch's probabilities on real rows, in one batch", async () => {
    const p = await model.predict(rows.map((r) => r.features));
    p.forEach((x, k) => {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(1);
      expect(Math.abs(x - rows[k]!.probability)).toBeLessThan(1e-5);
    });
  });

  it('takes the unknown-value paths as PyTorch does (January, unseen codes, code 0)', async () => {
    const { probes } = JSON.parse(readFileSync(`${INTENT_DIR}/parity.json`, 'utf8')) as {
      probes: { features: number[]; probability: number }[];
    };
    const p = await model.predict(probes.map((r) => r.features));
    p.forEach((x, k) => expect(Math.abs(x - probes[k]!.probability)).toBeLessThan(1e-5));
    // an unknown code (0: "not sent") reads as none, like an unseen one
    const base = rows[1]!.features;
    const [zero, unseen] = await model.predict([
      base.map((x, k) => (k === 12 ? 0 : x)),
      base.map((x, k) => (k === 12 ? 99 : x)),
    ]);
    expect(zero).toBeCloseTo(unseen!, 6);
  });
});
