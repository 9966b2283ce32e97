// A PostgreSQL primary and its streaming replica of our own (initdb, pg_basebackup), on ports of
// their own beside the shared server on 5432, in a temporary directory: what the read-routing
// suites run against. As root (CI), the servers run as the postgres user. Every server started
// here is stopped by `stop`.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The PostgreSQL server binaries (Debian's layout), newest version first; null when absent. */
export function postgresBin(): string | null {
  for (const v of ['17', '16', '15']) {
    const dir = `/usr/lib/postgresql/${v}/bin`;
    if (existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_basebackup')))
      return dir;
  }
  return null;
}

export interface ReplicatedPair {
  primaryUrl: string;
  replicaUrl: string;
  /** Stops the replica (fast shutdown), as an operator or a crash would take it away. */
  stopReplica(): Promise<void>;
  startReplica(): Promise<void>;
  stop(): Promise<void>;
}

export async function startReplicatedPair(opts: {
  primaryPort: number;
  replicaPort: number;
  database: string;
}): Promise<ReplicatedPair> {
  const bin = postgresBin();
  if (!bin) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  const root = process.getuid?.() === 0;
  const dir = await mkdtemp(path.join(tmpdir(), 'foresight-replica-'));
  if (root) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout), Number(gid));
  }
  // initdb and the servers refuse to run as root.
  const pg = (tool: string, args: string[]) =>
    root
      ? run('runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args], { cwd: dir })
      : run(path.join(bin, tool), args, { cwd: dir });
  const primary = path.join(dir, 'primary');
  const replica = path.join(dir, 'replica');
  const started: string[] = [];
  const ctl = async (data: string, action: 'start' | 'stop') => {
    if (action === 'start') {
      await pg('pg_ctl', ['-D', data, '-l', `${data}.log`, '-w', '-t', '60', 'start']);
      if (!started.includes(data)) started.push(data);
    } else {
      await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    }
  };
  const stop = async () => {
    for (const data of started.reverse()) await ctl(data, 'stop').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await pg('initdb', [
      '-D',
      primary,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    // Loopback only; its socket in our directory; replication on; durability off (a test).
    await appendFile(
      path.join(primary, 'postgresql.conf'),
      [
        `port = ${opts.primaryPort}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        'wal_level = replica',
        'max_wal_senders = 4',
        'fsync = off',
        'shared_buffers = 32MB',
        '',
      ].join('\n'),
    );
    await ctl(primary, 'start');
    await pg('pg_basebackup', [
      ...['-h', '127.0.0.1', '-p', String(opts.primaryPort), '-U', 'postgres'],
      ...['-D', replica, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'],
    ]);
    await appendFile(path.join(replica, 'postgresql.auto.conf'), `port = ${opts.replicaPort}\n`);
    await ctl(replica, 'start');
    const url = (port: number, db: string) => `postgres://postgres@127.0.0.1:${port}/${db}`;
    await run('psql', [
      url(opts.primaryPort, 'postgres'),
      '-qc',
      `CREATE DATABASE ${opts.database}`,
    ]);
    return {
      primaryUrl: url(opts.primaryPort, opts.database),
      replicaUrl: url(opts.replicaPort, opts.database),
      stopReplica: () => ctl(replica, 'stop'),
      startReplica: () => ctl(replica, 'start'),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
