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
    expect(res.stderr).toMatch(/--format must be amazon, diginetica or uci-shoppers/);
  });
});
