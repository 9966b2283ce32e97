// The one runner of the command-line tools (src/cli/*.ts, one module per command): it parses a
// command's flags, runs its main and turns what main throws into a message and an exit code;
// and it opens the configured database, as the tools that work on the gateway's data do.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, type Config } from '../config.js';
import { openDb, type Db } from '../db/index.js';
import { migrate } from '../db/migrate.js';
import { CodedError, ErrorCode } from '../errors.js';

/** The command line is wrong: the message (if any), then the command's usage; exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** What a command's main gets: its flags' values (node:util parseArgs) and its arguments. */
export interface CommandLine<O extends Options> {
  values: ReturnType<typeof parseArgs<{ options: O }>>['values'];
  positionals: string[];
}

export interface Command<O extends Options> {
  /** Printed for --help (every command's flag) and after a usage error. */
  usage: string;
  options: O;
  /** The command takes arguments besides its flags. */
  positionals?: boolean;
  /** Parses its arguments, calls library code, prints; returns the exit code (none: 0). */
  main(line: CommandLine<O>): Promise<number | void>;
}

/**
 * Runs `command` on this process's arguments and exits. Usage errors (UsageError, a flag
 * parseArgs refuses) print the message and the usage; a ConfigError or a CodedError of code
 * BAD_USER_INPUT (a refused value: the message says which) prints its message alone; these
 * exit with 2. Anything else prints its stack and exits with 1.
 */
export function runCommand<O extends Options>(
  command: Command<O>,
  args = process.argv.slice(2),
): void {
  run(command, args).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const { message, code } = failure(err, command.usage);
      console.error(message);
      process.exit(code);
    },
  );
}

async function run<O extends Options>(command: Command<O>, args: string[]): Promise<number> {
  let line: CommandLine<O> & { values: { help?: boolean } };
  try {
    line = parseArgs({
      args,
      options: { ...command.options, help: { type: 'boolean' } },
      allowPositionals: command.positionals ?? false,
    }) as typeof line;
  } catch (err) {
    if (!isParseArgsError(err)) throw err;
    throw new UsageError(err.message, { cause: err });
  }
  if (line.values.help) {
    console.error(command.usage);
    return 0;
  }
  return (await command.main(line)) ?? 0;
}

function isParseArgsError(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof TypeError && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

function failure(err: unknown, usage: string): { message: unknown; code: number } {
  if (err instanceof UsageError)
    return { message: err.message ? `${err.message}\n${usage}` : usage, code: 2 };
  if (err instanceof ConfigError) return { message: err.message, code: 2 };
  if (err instanceof CodedError && err.code === ErrorCode.BAD_USER_INPUT)
    return { message: err.message, code: 2 };
  return { message: err, code: 1 };
}

/**
 * Runs `use` on the configured database (DATABASE_URL, else the embedded PGlite in DATA_DIR;
 * `databaseUrl` instead when given), migrated first unless `migrate` is false, and closes it
 * after: PGlite admits one process per data directory, so a running gateway or the trainer
 * that runs next needs it released.
 */
export async function withConfiguredDb<T>(
  config: Config,
  use: (db: Db) => Promise<T>,
  { migrate: migrating = true, databaseUrl = config.databaseUrl } = {},
): Promise<T> {
  const db = await openDb({ databaseUrl, dataDir: config.dataDir });
  try {
    if (migrating) await migrate(db, { EMBEDDING_DIM: config.embeddingDim });
    return await use(db);
  } finally {
    await db.close();
  }
}

/** Where the configured database is, as the tools print it. */
export function configuredDbName(db: Db, config: Config): string {
  return db.kind === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `PGlite at ${config.dataDir}`;
}
