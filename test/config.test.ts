// Configuration knobs whose default is not a plain number: RETRIEVAL_COOCCURRENCE_NEIGHBORS
// (unset = every stored co-occurrence neighbour, what keeps retrieval exact),
// RETRIEVAL_PARALLEL (unset = 2, or 1 with several gateway workers) and MODEL_DIRS (unset =
// MODEL_DIR alone); READ_DATABASE_URL (needs DATABASE_URL) and RATE_LIMIT_STORE.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('RETRIEVAL_COOCCURRENCE_NEIGHBORS', () => {
  it('defaults to all stored neighbours (null), also when empty', () => {
    expect(loadConfig({}).retrieval.cooccurrenceNeighbors).toBeNull();
    expect(
      loadConfig({ RETRIEVAL_COOCCURRENCE_NEIGHBORS: '' }).retrieval.cooccurrenceNeighbors,
    ).toBeNull();
  });

  it('takes a count per recent item, 0 included', () => {
    expect(
      loadConfig({ RETRIEVAL_COOCCURRENCE_NEIGHBORS: '20' }).retrieval.cooccurrenceNeighbors,
    ).toBe(20);
    expect(
      loadConfig({ RETRIEVAL_COOCCURRENCE_NEIGHBORS: '0' }).retrieval.cooccurrenceNeighbors,
    ).toBe(0);
  });

  it('refuses a negative or fractional count, naming the variable', () => {
    for (const v of ['-1', '2.5', 'all']) {
      expect(() => loadConfig({ RETRIEVAL_COOCCURRENCE_NEIGHBORS: v })).toThrow(ConfigError);
      expect(() => loadConfig({ RETRIEVAL_COOCCURRENCE_NEIGHBORS: v })).toThrow(
        /RETRIEVAL_COOCCURRENCE_NEIGHBORS/,
      );
    }
  });
});

describe('RETRIEVAL_PARALLEL', () => {
  const pg = { DATABASE_URL: 'postgres://x@127.0.0.1/db' };
  it('defaults to 2 statements with one gateway process and 1 with several', () => {
    expect(loadConfig({}).retrieval.parallel).toBe(2);
    expect(loadConfig({ ...pg, GATEWAY_WORKERS: '2' }).retrieval.parallel).toBe(1);
  });

  it('takes an explicit value either way, and refuses 0', () => {
    expect(loadConfig({ RETRIEVAL_PARALLEL: '3' }).retrieval.parallel).toBe(3);
    expect(
      loadConfig({ ...pg, GATEWAY_WORKERS: '2', RETRIEVAL_PARALLEL: '2' }).retrieval.parallel,
    ).toBe(2);
    expect(() => loadConfig({ RETRIEVAL_PARALLEL: '0' })).toThrow(/RETRIEVAL_PARALLEL/);
  });
});

describe('MODEL_DIRS', () => {
  const cwd = '/srv/foresight';
  it('defaults to MODEL_DIR alone, resolved against the working directory', () => {
    expect(loadConfig({}, cwd).modelDirs).toEqual(['/srv/foresight/models/beauty']);
    expect(loadConfig({ MODEL_DIR: 'models/x' }, cwd)).toMatchObject({
      modelDirs: ['/srv/foresight/models/x'],
      modelDir: '/srv/foresight/models/x',
    });
  });

  it('lists one directory per dataset, in order, spaces and empty entries ignored', () => {
    const config = loadConfig({ MODEL_DIRS: ' models/beauty, models/diginetica ,' }, cwd);
    expect(config.modelDirs).toEqual([
      '/srv/foresight/models/beauty',
      '/srv/foresight/models/diginetica',
    ]);
    expect(config.modelDir).toBe('/srv/foresight/models/beauty');
  });

  it('refuses MODEL_DIR beside it, and a directory listed twice', () => {
    expect(() => loadConfig({ MODEL_DIR: 'models/beauty', MODEL_DIRS: 'models/x' })).toThrow(
      /MODEL_DIR, MODEL_DIRS: set one of them/,
    );
    expect(() => loadConfig({ MODEL_DIRS: 'models/beauty,./models/beauty' }, cwd)).toThrow(
      ConfigError,
    );
    expect(() => loadConfig({ MODEL_DIRS: 'models/beauty,./models/beauty' }, cwd)).toThrow(
      '/srv/foresight/models/beauty is listed twice',
    );
  });
});

describe('READ_DATABASE_URL and RATE_LIMIT_STORE', () => {
  const primary = 'postgres://postgres@127.0.0.1:5540/foresight';
  const replica = 'postgres://postgres@127.0.0.1:5541/foresight';

  it('has no replica and per-process buckets by default', () => {
    const config = loadConfig({ DATABASE_URL: primary });
    expect(config.readReplica).toBeNull();
    expect(config.security.rateLimitStore).toBe('memory');
  });

  it('takes a replica with its lag bound, and the shared store', () => {
    const config = loadConfig({
      DATABASE_URL: primary,
      READ_DATABASE_URL: replica,
      READ_REPLICA_MAX_LAG_MS: '500',
      RATE_LIMIT_STORE: 'database',
    });
    expect(config.readReplica).toEqual({ url: replica, maxLagMs: 500 });
    expect(config.security.rateLimitStore).toBe('database');
  });

  it('refuses a replica without its primary, and an unknown store', () => {
    expect(() => loadConfig({ READ_DATABASE_URL: replica })).toThrow(
      /READ_DATABASE_URL: a read replica needs DATABASE_URL/,
    );
    expect(() => loadConfig({ RATE_LIMIT_STORE: 'redis' })).toThrow(/RATE_LIMIT_STORE/);
  });
});
