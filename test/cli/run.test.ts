// The runner every command-line tool shares (src/cli/run.ts), through real tools in child
// processes: --help prints the usage and exits 0; a usage error (the tool's own or a flag
// parseArgs refuses) prints the message and the usage and exits 2; a refused value
// (BAD_USER_INPUT) prints its message alone and exits 2; any other failure prints its stack and
// exits 1.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const TSX = path.resolve('node_modules/.bin/tsx');

async function tool(name: string, args: string[]) {
  try {
    const { stdout, stderr } = await run(TSX, [`src/cli/${name}.ts`, ...args], {
      env: { ...process.env, DATABASE_URL: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the command-line runner', () => {
  it('prints the usage on --help and exits 0', async () => {
    const res = await tool('keys', ['--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^usage:\n {2}npm run keys -- create --name <name>/);
  });

  it("exits 2 with the message and the usage on a tool's usage error", async () => {
    const res = await tool('keys', ['revoke']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^revoke takes one key id\nusage:\n/);
  });

  it('exits 2 with the message and the usage on a flag parseArgs refuses', async () => {
    const res = await tool('evaluate-policy', ['--bogus']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^Unknown option '--bogus'.*\nusage: npm run evaluate:policy/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 with the message alone on a refused value', async () => {
    const res = await tool('import', ['--format', 'amazon', '--batch-size', '0', 'x.txt']);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toBe('--batch-size must be a positive integer');
  });

  it('exits 1 with the stack on any other failure', async () => {
    const res = await tool('evaluate-policy', ['--database-url', 'postgres://x@127.0.0.1:1/x']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^DbError: cannot reach PostgreSQL: connect ECONNREFUSED/);
    expect(res.stderr).toMatch(/\n\s+at .*src\/cli\/run\.ts/);
  });
});
