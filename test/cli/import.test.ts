// The importer CLI end to end: a child process, an embedded database in a temporary
// directory, counts on stdout, rejected rows on stderr, usage errors with exit code 2.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { beautySlice, tempDir } from '../helpers/fixtures.js';

const run = promisify(execFile);
const TSX = path.resolve('node_modules/.bin/tsx');

async function cli(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(TSX, ['src/cli/import.ts', ...args], {
      env: { ...process.env, DATABASE_URL: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run import (PGlite)', () => {
  it('imports a slice, reports counts and rejects, and adds nothing the second time', async () => {
    const slice = await beautySlice(5);
    const dir = await tempDir();
    await writeFile(slice.sequences, slice.lines.join('\n') + '\nnot a line\n');
    const env = { DATA_DIR: path.join(dir, 'db') };
    const args = ['--format', 'amazon', slice.sequences, slice.attributes];
    const events = slice.lines.reduce((n, l) => n + l.split(' ').length - 1, 0);

    const first = await cli(args, env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`users\\s+5 read\\s+5 new`));
    expect(first.stdout).toMatch(new RegExp(`events\\s+${events} read\\s+${events} new`));
    expect(first.stdout).toMatch(/rejected rows\s+1/);
    expect(first.stderr).toContain(`rejected ${slice.sequences}:6: `);

    const second = await cli(args, env);
    expect(second.stdout).toMatch(new RegExp(`events\\s+${events} read\\s+0 new`));
  });

  it('exits with 2 and the usage on bad arguments', async () => {
    const res = await cli(['--format', 'csv', 'x.csv'], {});
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(
      /--format must be one of amazon, diginetica, uci-shoppers, events, catalogue/,
    );
  });

  it("imports a shop's behaviour and catalogue exports with mapping options", async () => {
    const env = { DATA_DIR: path.join(await tempDir(), 'db') };
    const events = await cli(
      [
        '--format',
        'events',
        '--dataset',
        'myshop',
        '--types',
        'pv=VIEW,cart=CART,fav=WISHLIST,buy=PURCHASE',
        '--columns',
        'user_id=user_id,time=timestamp',
        '--time-format',
        'epoch-s',
        'test/fixtures/shop/behaviour.csv',
      ],
      env,
    );
    expect(events.code).toBe(0);
    expect(events.stdout).toMatch(/events\s+8 read\s+7 new/);
    expect(events.stdout).toMatch(/sessions\s+3 read\s+3 new/);
    expect(events.stdout).toMatch(/rejected rows\s+4/);
    expect(events.stderr).toContain('rejected test/fixtures/shop/behaviour.csv:9: type: "clk"');
    expect(events.stderr).toMatch(/behaviour\.csv: 100% \(13 rows\)/); // progress
    const catalogue = await cli(
      [
        '--format',
        'catalogue',
        '--dataset',
        'myshop',
        '--delimiter',
        ';',
        'test/fixtures/shop/catalogue.csv',
      ],
      env,
    );
    expect(catalogue.code).toBe(0);
    expect(catalogue.stdout).toMatch(/items\s+3 read\s+3 new\s+0 changed/);
    expect(catalogue.stdout).toMatch(/categories\s+5 read\s+5 new/);
  });

  it('exits with 2 naming the option on bad mapping options', async () => {
    for (const [args, message] of [
      [['--format', 'events', 'x.csv'], /--dataset is required/],
      [
        ['--format', 'events', '--dataset', 'a', '--types', 'pv=CLICK', 'x.csv'],
        /--types: "pv=CLICK"/,
      ],
      [
        ['--format', 'events', '--dataset', 'a', '--time-format', 'unix', 'x.csv'],
        /--time-format must be one of/,
      ],
      [
        ['--format', 'catalogue', '--dataset', 'a', '--columns', 'colour=c', 'x.csv'],
        /colour is not a field of --format catalogue/,
      ],
    ] as const) {
      const res = await cli([...args], {});
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(message);
    }
  });
});
