// The histories the encoder reads carry each event's time as training reads it: `occurredAt`
// when the event has one, else (imported DIGINETICA) the day plus the offset in the session.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { subjectHistories } from '../../src/db/forecasts.js';
import { importDiginetica } from '../../src/import/diginetica.js';
import { backends } from '../helpers/backends.js';

const VIEWS = path.resolve('test/fixtures/diginetica/sample-train-item-views.csv');

describe.each(backends)('subject histories on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    await importDiginetica(db, [VIEWS]);
  });
  afterAll(async () => dispose?.());

  it('derive an imported event time from its day and offset in the session', async () => {
    // session 1 of the fixture: 10 views on 2016-05-09, the first 75,848 ms into the session
    const history = (await subjectHistories(db, 'session', ['diginetica:v1'], 50)).get(
      'diginetica:v1',
    )!;
    const times = history.events.map((e) => e.occurredAt?.toISOString());
    expect(times).toHaveLength(10);
    expect(times.slice(0, 3)).toEqual([
      '2016-05-09T00:01:15.848Z', // 75848 ms
      '2016-05-09T00:02:53.912Z', // 173912 ms
      '2016-05-09T00:04:03.569Z', // 243569 ms
    ]);
    const stored = await db.query<{ occurred_at: Date | null }>(
      `SELECT occurred_at FROM events WHERE session_id = 'diginetica:v1' LIMIT 1`,
    );
    expect(stored.rows[0]!.occurred_at).toBeNull(); // the stored event is left as imported
  });
});
