// `npm run keys -- create|list|revoke`: API keys in the configured database (DATABASE_URL,
// else the embedded PGlite in DATA_DIR, which a running gateway holds: use the GraphQL
// mutations createApiKey/revokeApiKey against it instead). The token is printed once.
import { loadConfig } from '../config.js';
import { CodedError, ErrorCode } from '../errors.js';
import { createApiKey, listApiKeys, revokeApiKey, type ApiKey } from '../security/keys.js';
import { SCOPES } from '../security/scopes.js';
import { runCommand, UsageError, withConfiguredDb, type CommandLine } from './run.js';

const USAGE = `usage:
  npm run keys -- create --name <name> --scopes <scope,…> [--rate <requests per minute>]
  npm run keys -- list
  npm run keys -- revoke <id>
scopes: ${SCOPES.join(', ')} (admin implies every other)`;

const OPTIONS = {
  name: { type: 'string' },
  scopes: { type: 'string' },
  rate: { type: 'string' },
} as const;

const when = (d: Date | null) => (d ? d.toISOString().replace(/\.\d+Z$/, 'Z') : '-');

function table(keys: readonly ApiKey[]): string {
  const rows = [
    ['id', 'name', 'scopes', 'rate/min', 'created', 'last used', 'revoked'],
    ...keys.map((k) => [
      k.id,
      k.name,
      k.scopes.join(','),
      k.ratePerMinute === null ? 'default' : String(k.ratePerMinute),
      when(k.createdAt),
      when(k.lastUsedAt),
      when(k.revokedAt),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((v, c) => v.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A refused field of the new key (`input.ratePerMinute: …`) as the flag that gave it. */
function asFlagError(err: unknown): unknown {
  const field = err instanceof CodedError ? err.extensions.field : undefined;
  if (field === undefined) return err;
  const flag = field === 'input.ratePerMinute' ? 'rate' : field.replace(/^input\./, '');
  const message = `--${flag}: ${(err as Error).message.slice(field.length + 2)}`;
  return new CodedError(ErrorCode.BAD_USER_INPUT, message, { field: flag }, { cause: err });
}

async function main({ values, positionals }: CommandLine<typeof OPTIONS>): Promise<number> {
  const [command, ...rest] = positionals;
  if (!command || !['create', 'list', 'revoke'].includes(command)) throw new UsageError();
  if (command === 'revoke' && rest.length !== 1) throw new UsageError('revoke takes one key id');
  if (command === 'create' && (!values.name || !values.scopes))
    throw new UsageError('create needs --name and --scopes');
  const rate = values.rate === undefined ? null : Number(values.rate);
  const config = loadConfig(process.env);
  return withConfiguredDb(config, async (db) => {
    if (command === 'list') {
      console.log(table(await listApiKeys(db)));
    } else if (command === 'revoke') {
      const key = await revokeApiKey(db, rest[0]!);
      if (!key) {
        console.error(`no API key ${rest[0]}`);
        return 1;
      }
      console.log(`revoked ${key.id} (${key.name}) at ${when(key.revokedAt)}`);
    } else {
      const { key, token } = await createApiKey(db, {
        name: values.name!,
        scopes: values.scopes!.split(',').map((s) => s.trim()),
        ratePerMinute: rate,
      }).catch((err: unknown) => {
        throw asFlagError(err);
      });
      console.error(`created ${key.id} (${key.name}) with ${key.scopes.join(', ')}; the token:`);
      console.log(token);
      console.error('it is not stored: keep it now (send it as "Authorization: Bearer <token>")');
    }
    return 0;
  });
}

runCommand({ usage: USAGE, options: OPTIONS, positionals: true, main });
