// The gateway's one logger: pino, which Fastify logs requests with too, so start-up, serving,
// rollout and request lines share one format (JSON lines on standard output) and one level.
// src/main.ts sets the level from LOG_LEVEL once the configuration is read; until then, and in
// processes that never set it (tests, tools), it logs at info.
import { pino, type Logger } from 'pino';

export type { Logger };

/** The process's logger. */
export const log: Logger = pino({ level: 'info' });

/** A logger that drops everything: a server built for a test that wants no request lines. */
export const silentLogger: Logger = pino({ level: 'silent' });
