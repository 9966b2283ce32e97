// The gateway's protections, in request order (docs/security.md):
//  1. onRequest: the API key (Authorization: Bearer fsk_… or X-API-Key) → the request's
//     Principal, or UNAUTHENTICATED; failed attempts are rate-limited per client address.
//  2. body parsing: BODY_LIMIT, JSON syntax and content type (coded errors, transportErrors).
//  3. preHandler: batch size (MAX_BATCH) and shape, and the key's rate limit (RATE_LIMITED,
//     Retry-After).
//  4. Apollo, once the operation is parsed and validated, before anything runs: the
//     allow-list (OPERATION_NOT_ALLOWED), the scopes of its root fields (FORBIDDEN), and its
//     depth, aliases and cost (QUERY_TOO_DEEP, TOO_MANY_ALIASES, QUERY_TOO_COSTLY); in a
//     batch, no operation runs until all have passed (batch-gate.ts).
// Every refusal happens before a resolver runs, so a refused request writes nothing.
import type { ApolloServerPlugin, GraphQLRequestContextDidResolveOperation } from '@apollo/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { getVariableValues, type GraphQLError } from 'graphql';
import { isLoopbackHost, type Config } from '../config.js';
import type { Queryable } from '../db/client.js';
import {
  codedError,
  ErrorCode,
  RETRY_AFTER_CONNECTION_LOST_MS,
  sendCodedError,
  toGraphQLError,
  type ErrorExtensions,
} from '../errors.js';
import { AllowList } from './allow-list.js';
import { BatchGate, batchPieceProblem } from './batch-gate.js';
import { KeyStore } from './keys.js';
import { findNul, measureOperation } from './limits.js';
import { RateLimiter, type Admission, type Limiter } from './rate-limit.js';
import { SharedRateLimiter } from './shared-rate-limit.js';
import { hasScope, requiredScope, rootFields, type Scope } from './scopes.js';

/** Who a request acts for. */
export interface Principal {
  /** The API key's id; null when the gateway is open (AUTH=off, or auto without keys). */
  keyId: string | null;
  name: string;
  scopes: readonly Scope[];
  /** Requests per minute; 0 = unlimited. */
  ratePerMinute: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** A batched request's gate (batch-gate.ts), handed to its operations' GraphQL context. */
    batchGate: BatchGate | null;
  }
}

/** What the Apollo plugin reads from the GraphQL context. */
interface GuardContext {
  principal?: Principal;
  batch?: BatchGate;
}

/** Failed authentication attempts per client address per minute. */
const FAILED_AUTH_PER_MINUTE = 30;

/** Routes that need a key (when keys are enforced) and the scope the route itself needs. */
const PROTECTED: Readonly<Record<string, Scope | null>> = {
  '/graphql': null, // per operation (the Apollo plugin)
  '/metrics': 'metrics',
  '/debug/inference': 'metrics',
};

function bearer(request: FastifyRequest): string | null | undefined {
  const auth = request.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1]! : null; // null: a header that is not a bearer token
  }
  const key = request.headers['x-api-key'];
  if (typeof key === 'string') return key.trim();
  return key === undefined ? undefined : null;
}

export interface Guard {
  keys: KeyStore;
  /** The Apollo plugin of step 4. */
  plugin: ApolloServerPlugin<GuardContext>;
}

/** Registers steps 1–3 on `app` and returns the Apollo plugin of step 4. */
export function installGuard(app: FastifyInstance, config: Config, db: Queryable): Guard {
  const sec = config.security;
  const keys = new KeyStore(db, sec.keyCacheMs);
  const shared = sec.rateLimitStore === 'database';
  const pruneFailed = (err: unknown) =>
    app.log.warn({ err }, 'deleting idle rate-limit buckets failed');
  const limiter: Limiter = shared
    ? new SharedRateLimiter(db, sec.rateLimitBurst, pruneFailed)
    : new RateLimiter(sec.rateLimitBurst);
  const failures: Limiter = shared
    ? new SharedRateLimiter(db, FAILED_AUTH_PER_MINUTE, pruneFailed)
    : new RateLimiter(FAILED_AUTH_PER_MINUTE);
  /** An admission, or null once the reply says the shared store did not answer. */
  const admit = async (
    bucketsOf: Limiter,
    reply: FastifyReply,
    key: string,
    perMinute: number,
    cost: number,
  ): Promise<Admission | null> => {
    try {
      return await bucketsOf.take(key, perMinute, cost);
    } catch (err) {
      // Refused rather than admitted unlimited: a limit that lapses whenever the database
      // is away would not be a limit.
      reply.log.warn({ err }, 'rate-limit store did not answer');
      sendCodedError(
        reply,
        503,
        ErrorCode.UNAVAILABLE,
        'the rate-limit store (the database) did not answer; retry shortly',
        { retryAfterMs: RETRY_AFTER_CONNECTION_LOST_MS },
      );
      return null;
    }
  };
  const allowList = sec.allowList.length > 0 ? AllowList.load(sec.allowList) : null;
  const loopback = isLoopbackHost(config.host);

  /** Whether a key is required right now (AUTH, HOST and whether any key exists). */
  const enforced = async (): Promise<boolean> => {
    if (sec.auth === 'required') return true;
    if (sec.auth === 'off') return false;
    return !loopback || (await keys.anyActive());
  };
  const open: Principal = {
    keyId: null,
    name: sec.auth === 'off' ? 'open (AUTH=off)' : 'open (loopback, no API key exists)',
    scopes: ['admin'],
    ratePerMinute: 0,
  };

  const refuseAuth = async (request: FastifyRequest, reply: FastifyReply, message: string) => {
    const ip = request.ip;
    const admission = await admit(failures, reply, `fail:${ip}`, FAILED_AUTH_PER_MINUTE, 1);
    if (!admission) return reply;
    request.log.info({ code: ErrorCode.UNAUTHENTICATED }, 'request refused: no valid API key');
    if (!admission.allowed) {
      return sendCodedError(
        reply,
        429,
        ErrorCode.RATE_LIMITED,
        'too many failed authentication attempts from this address',
        { retryAfterMs: admission.retryAfterS * 1000 },
      );
    }
    reply.header('www-authenticate', 'Bearer realm="foresight"');
    return sendCodedError(reply, 401, ErrorCode.UNAUTHENTICATED, message);
  };

  app.decorateRequest('principal', null);
  app.decorateRequest('batchGate', null);
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === undefined || !(route in PROTECTED)) return;
    // The GraphQL landing page (GET without an operation) is a static page: no key needed.
    // The parameters are read as Apollo reads them (decoded: `%71uery` is `query`).
    if (route === '/graphql' && request.method === 'GET') {
      const params = new URLSearchParams(request.url.split('?')[1] ?? '');
      if (!params.has('query') && !params.has('extensions')) return;
    }
    const token = bearer(request);
    if (token === null) {
      return refuseAuth(request, reply, 'the Authorization header must be "Bearer <API key>"');
    }
    if (token === undefined) {
      if (await enforced()) {
        return refuseAuth(
          request,
          reply,
          'an API key is required: send "Authorization: Bearer <key>" (keys: npm run keys -- create)',
        );
      }
      request.principal = open;
    } else {
      // Looked up even when the address is over its failed-attempt budget: a valid key
      // behind the same address (a proxy, a NAT) must not be locked out by others' failures;
      // unknown tokens' outcomes are cached (KeyStore), so a flood of one costs one lookup.
      const key = await keys.verify(token);
      if (!key) return refuseAuth(request, reply, 'the API key is unknown or revoked');
      request.principal = {
        keyId: key.id,
        name: key.name,
        scopes: key.scopes,
        ratePerMinute: key.ratePerMinute ?? sec.rateLimit,
      };
      request.log = request.log.child({ apiKey: key.id });
      reply.log = request.log;
    }
    const needed = PROTECTED[route];
    if (needed && !hasScope(request.principal.scopes, needed)) {
      request.log.info({ code: ErrorCode.FORBIDDEN, needed }, 'request refused: scope');
      return sendCodedError(
        reply,
        403,
        ErrorCode.FORBIDDEN,
        `this endpoint needs an API key with the ${needed} scope`,
        {
          scope: needed,
        },
      );
    }
  });

  app.addHook('preHandler', async (request, reply) => {
    const principal = request.principal;
    if (request.routeOptions.url !== '/graphql' || !principal) return;
    // Persisted documents sent by id (`{"documentId": "sha256:…"}`, the client preset's
    // persisted-documents convention): the allow-list's text takes the id's place.
    const unknown = resolveDocumentIds(request.body);
    if (unknown !== null) {
      return sendCodedError(
        reply,
        400,
        ErrorCode.PERSISTED_QUERY_NOT_FOUND,
        allowList
          ? `documentId ${JSON.stringify(unknown)} is not in OPERATION_ALLOW_LIST`
          : 'documentId needs the operations registered in OPERATION_ALLOW_LIST (docs/security.md); send the query text instead',
        { field: 'documentId' },
      );
    }
    const batch = Array.isArray(request.body) ? (request.body as unknown[]) : null;
    const operations = batch ? batch.length : 1;
    if (operations > sec.maxBatch) {
      return sendCodedError(
        reply,
        400,
        ErrorCode.BATCH_TOO_LARGE,
        sec.maxBatch === 1
          ? 'batched requests are off (MAX_BATCH=1): send one operation per request'
          : `a batch holds at most ${sec.maxBatch} operations (MAX_BATCH), got ${operations}`,
        { limit: sec.maxBatch },
      );
    }
    if (batch && sec.maxBatch > 1) {
      const problems = batch.map(batchPieceProblem);
      const bad = problems.findIndex((p) => p !== null);
      if (bad >= 0)
        return sendCodedError(
          reply,
          400,
          ErrorCode.BAD_REQUEST,
          `operation ${bad} of the batch: ${problems[bad]}; no operation of the batch was run`,
          { refusedOperation: bad },
        );
      if (batch.length > 0) request.batchGate = new BatchGate(batch.length);
    }
    if (principal.ratePerMinute > 0 && principal.keyId !== null) {
      const admission = await admit(
        limiter,
        reply,
        `key:${principal.keyId}`,
        principal.ratePerMinute,
        operations,
      );
      if (!admission) return reply;
      reply.header('ratelimit-limit', String(principal.ratePerMinute));
      reply.header('ratelimit-remaining', String(admission.remaining));
      if (!admission.allowed) {
        request.log.info({ code: ErrorCode.RATE_LIMITED }, 'request refused: rate limit');
        return sendCodedError(
          reply,
          429,
          ErrorCode.RATE_LIMITED,
          `rate limit of ${principal.ratePerMinute} requests per minute for this key reached; retry after ${admission.retryAfterS} s`,
          { retryAfterMs: admission.retryAfterS * 1000, limitPerMinute: principal.ratePerMinute },
        );
      }
    }
  });

  const refuse = (code: ErrorCode, status: number, message: string, ext: ErrorExtensions = {}) =>
    toGraphQLError(codedError(code, message, ext), status);

  /**
   * Step 4 for one operation: throws its refusal; false when Apollo will refuse it itself (no
   * operation of that name, variables that do not fit), true when it may run.
   */
  const check = ({
    document,
    operation,
    request: req,
    contextValue,
    schema,
  }: GraphQLRequestContextDidResolveOperation<GuardContext>): boolean => {
    if (!operation) return false; // Apollo answers OPERATION_RESOLUTION_FAILURE
    // Every operation that reaches here came through the onRequest hook: no principal
    // means a path that skipped it, which must not run anything.
    const principal = contextValue.principal;
    if (!principal) {
      throw refuse(ErrorCode.UNAUTHENTICATED, 401, 'an API key is required');
    }
    const admin = hasScope(principal.scopes, 'admin');
    if (allowList && !admin && !allowList.allows(document)) {
      throw refuse(
        ErrorCode.OPERATION_NOT_ALLOWED,
        403,
        'this operation is not on the allow-list (OPERATION_ALLOW_LIST); only admin keys may run other operations',
      );
    }
    for (const field of rootFields(document, operation)) {
      const needed = requiredScope(operation.operation, field);
      if (!hasScope(principal.scopes, needed)) {
        throw refuse(
          ErrorCode.FORBIDDEN,
          403,
          `${operation.operation} field ${field} needs an API key with the ${needed} scope; this key has ${principal.scopes.join(', ')}`,
          { scope: needed },
        );
      }
    }
    // Costs and NUL checks read the coerced variables (defaults applied); invalid ones
    // are left to Apollo, which refuses them as BAD_USER_INPUT before anything runs.
    const { coerced } = getVariableValues(
      schema,
      operation.variableDefinitions ?? [],
      req.variables ?? {},
    );
    if (!coerced) return false;
    const nul = findNul(document, coerced);
    if (nul !== null) {
      throw refuse(ErrorCode.BAD_USER_INPUT, 400, `${nul}: strings must not contain NUL (U+0000)`, {
        field: nul,
      });
    }
    const shape = measureOperation(schema, document, operation, coerced, {
      maxDepth: sec.maxDepth,
      maxAliases: sec.maxAliases,
      maxCost: sec.maxCost,
    });
    if (shape.depth > sec.maxDepth) {
      throw refuse(
        ErrorCode.QUERY_TOO_DEEP,
        400,
        `selections nest deeper than ${sec.maxDepth} levels (MAX_QUERY_DEPTH)`,
        {
          limit: sec.maxDepth,
        },
      );
    }
    if (shape.aliases > sec.maxAliases) {
      throw refuse(
        ErrorCode.TOO_MANY_ALIASES,
        400,
        `more than ${sec.maxAliases} aliases (MAX_ALIASES)`,
        {
          limit: sec.maxAliases,
        },
      );
    }
    if (shape.cost > sec.maxCost) {
      throw refuse(
        ErrorCode.QUERY_TOO_COSTLY,
        400,
        `the operation may resolve more than ${sec.maxCost} fields (MAX_QUERY_COST): lower the first/last arguments or split it`,
        { limit: sec.maxCost, cost: shape.cost },
      );
    }
    return true;
  };

  /** A batch's operations' hold on their gate, by request context (plugin-level hooks). */
  const onUnexpectedError = new WeakMap<object, () => void>();

  /** Replaces each `documentId` of `body` by its listed text; the first unknown id, else null. */
  const resolveDocumentIds = (body: unknown): string | null => {
    for (const op of Array.isArray(body) ? body : [body]) {
      if (typeof op !== 'object' || op === null || !('documentId' in op)) continue;
      const o = op as Record<string, unknown>;
      const id = o.documentId;
      const text = typeof id === 'string' ? allowList?.text(id) : undefined;
      if (text === undefined) return String(id);
      delete o.documentId;
      if (o.query === undefined) o.query = text;
    }
    return null;
  };

  const plugin: ApolloServerPlugin<GuardContext> = {
    async requestDidStart(requestContext) {
      const { request, contextValue } = requestContext;
      // Synchronously, before anything is awaited: Apollo starts a batch's operations in order.
      const gate = contextValue.batch;
      const index = gate?.enter() ?? 0;
      let reported = false;
      /** Tells the batch this operation was refused before running (once; no-op alone). */
      const refuseBatch = (code: unknown, status: unknown) => {
        if (!gate || reported) return;
        reported = true;
        gate.refused(
          index,
          typeof code === 'string' ? code : ErrorCode.BAD_REQUEST,
          typeof status === 'number' ? status : 400,
        );
      };
      onUnexpectedError.set(requestContext, () =>
        refuseBatch(ErrorCode.INTERNAL_SERVER_ERROR, 500),
      );
      // A persisted query sent by hash alone: the allow-list holds its text.
      const hash = (request.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined)
        ?.sha256Hash;
      if (allowList && request.query === undefined && typeof hash === 'string') {
        const text = allowList.text(hash);
        if (text !== undefined) request.query = text;
      }
      return {
        async didResolveOperation(ctx) {
          try {
            if (!check(ctx))
              refuseBatch(
                ctx.operation ? ErrorCode.BAD_USER_INPUT : ErrorCode.OPERATION_RESOLUTION_FAILURE,
                400,
              );
          } catch (err) {
            const ext = (err as GraphQLError).extensions;
            refuseBatch(ext?.code, (ext?.http as { status?: number } | undefined)?.status);
            throw err;
          }
          if (!gate || reported) return;
          reported = true;
          const refusal = await gate.passed();
          if (refusal)
            throw refuse(
              ErrorCode.BAD_REQUEST,
              refusal.status,
              `not run: operation ${refusal.index} of this batch was refused (${refusal.code}); ` +
                'a batch runs only when every operation in it passes its checks',
              { refusedOperation: refusal.index },
            );
        },
        // Refusals before didResolveOperation (persisted query not found, parse, validation).
        async didEncounterErrors({ errors }) {
          const ext = errors[0]?.extensions;
          refuseBatch(ext?.code, (ext?.http as { status?: number } | undefined)?.status);
        },
        async willSendResponse() {
          refuseBatch(ErrorCode.BAD_REQUEST, 400); // never reached having neither passed nor failed
        },
      };
    },
    async unexpectedErrorProcessingRequest({ requestContext }) {
      onUnexpectedError.get(requestContext)?.();
    },
  };
  return { keys, plugin };
}
