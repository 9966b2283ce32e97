// `npm run keys -- create|list|revoke`: API keys in the configured database (DATABASE_URL,
// else the embedded PGlite in DATA_DIR, which a running gateway holds: use the GraphQL
// mutations createApiKey/revokeApiKey against it instead). The token is printed once.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { openDb } from '../db/index.js';
import { migrate } from '../db/migrate.js';
import { createApiKey, listApiKeys, revokeApiKey, type ApiKey } from './keys.js';
import { SCOPES } from './scopes.js';
import { CodedError } from '../errors.js';

const USAGE = `usage:
  npm run keys -- create --name <name> --scopes <scope,…> [--rate <requests per minute>]
  npm run keys -- list
  npm run keys -- revoke <id>
scopes: ${SCOPES.join(', ')} (admin implies every other)`;

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

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      scopes: { type: 'string' },
      rate: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command || !['create', 'list', 'revoke'].includes(command)) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  if (command === 'revoke' && rest.length !== 1) {
    console.error(`revoke takes one key id\n${USAGE}`);
    return 2;
  }
  if (command === 'create' && (!values.name || !values.scopes)) {
    console.error(`create needs --name and --scopes\n${USAGE}`);
    return 2;
  }
  const rate = values.rate === undefined ? null : Number(values.rate);
  const config = loadConfig(process.env);
  const db = await openDb(config);
  try {
    await migrate(db, { EMBEDDING_DIM: config.embeddingDim });
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
      });
      console.error(`created ${key.id} (${key.name}) with ${key.scopes.join(', ')}; the token:`);
      console.log(token);
      console.error('it is not stored: keep it now (send it as "Authorization: Bearer <token>")');
    }
    return 0;
  } finally {
    await db.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const field = err instanceof CodedError ? err.extensions.field : undefined;
    if (field !== undefined) {
      const flag = field === 'input.ratePerMinute' ? 'rate' : field.replace(/^input\./, '');
      console.error(`--${flag}: ${(err as Error).message.slice(field.length + 2)}`);
      process.exit(2);
    }
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  },
);
