// Refusals Fastify makes before GraphQL runs (body too large, invalid JSON — not UTF-8, or a
// name repeated in an object —, an unsupported content type or charset, an unknown route or
// method) answered in GraphQL's error shape with their own codes, and never a stack trace: a
// client can switch on `errors[0].extensions.code` for every answer of the gateway.
import type { FastifyError, FastifyInstance } from 'fastify';
import { isConnectionError } from '../db/client.js';
import { ErrorCode, RETRY_AFTER_CONNECTION_LOST_MS, sendCodedError } from '../errors.js';
import { firstDuplicateKey } from './duplicate-keys.js';

const BY_FASTIFY_CODE: Readonly<
  Record<string, { status: number; code: ErrorCode; message: string }>
> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: ErrorCode.PAYLOAD_TOO_LARGE,
    message: 'request body too large',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: ErrorCode.BAD_REQUEST,
    message: 'the Content-Length header does not match the body',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: ErrorCode.INVALID_JSON,
    message: 'the body is not valid JSON',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: ErrorCode.INVALID_JSON,
    message: 'the body is empty but Content-Type is application/json',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    message: 'unsupported Content-Type: send application/json',
  },
};

/** The charset parameter of a Content-Type (quoted or not). */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/** A body the JSON parser refuses with its own code. */
class BodyRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BodyRefusal';
  }
}

export function installTransportErrors(app: FastifyInstance, bodyLimit: number): void {
  // JSON only: text/plain (Fastify parses it by default) gets 415 like form and multipart bodies.
  app.removeContentTypeParser('text/plain');
  // Fastify decodes a body leniently, turning invalid UTF-8 into U+FFFD that would then be
  // stored; decode strictly and refuse such a body as INVALID_JSON. The default parser keeps
  // its checks (empty body, __proto__ / constructor poisoning).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    // JSON is UTF-8 (RFC 8259): a body declared in another charset would be misread.
    const charset = CHARSET.exec(request.headers['content-type'] ?? '')?.[1];
    if (charset !== undefined && !/^utf-?8$/i.test(charset))
      return done(
        new BodyRefusal(
          415,
          ErrorCode.UNSUPPORTED_MEDIA_TYPE,
          `charset ${JSON.stringify(charset.slice(0, 40))} is not supported: send JSON in UTF-8`,
        ),
        undefined,
      );
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      const err = new Error('the body is not valid UTF-8') as FastifyError;
      err.statusCode = 400;
      err.code = 'FST_ERR_CTP_INVALID_JSON_BODY';
      return done(err, undefined);
    }
    return parseJson(request, text, (err, parsed) => {
      if (err) return done(err, undefined);
      const repeated = firstDuplicateKey(text);
      if (repeated !== null)
        return done(
          new BodyRefusal(
            400,
            ErrorCode.INVALID_JSON,
            `the body names ${JSON.stringify(repeated.slice(0, 40))} twice in one object; ` +
              'which one is meant is ambiguous',
          ),
          undefined,
        );
      return done(null, parsed);
    });
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof BodyRefusal)
      return sendCodedError(reply, error.status, error.code, error.message);
    const known = error.code ? BY_FASTIFY_CODE[error.code] : undefined;
    if (known) {
      const extra = known.code === ErrorCode.PAYLOAD_TOO_LARGE ? { limitBytes: bodyLimit } : {};
      const message =
        known.code === ErrorCode.PAYLOAD_TOO_LARGE
          ? `${known.message}: at most ${bodyLimit} bytes (BODY_LIMIT)`
          : known.message;
      return sendCodedError(reply, known.status, known.code, message, extra);
    }
    // JSON.parse's SyntaxError from Fastify's parser carries status 400 without a code.
    if (error instanceof SyntaxError && error.statusCode === 400) {
      return sendCodedError(reply, 400, ErrorCode.INVALID_JSON, 'the body is not valid JSON');
    }
    // A hook's SQL (the API key lookup) on a lost database connection: may be retried.
    if (isConnectionError(error)) {
      request.log.warn({ err: error }, 'database connection lost');
      return sendCodedError(
        reply,
        503,
        ErrorCode.UNAVAILABLE,
        'the database connection was lost; the request may be retried',
        { retryAfterMs: RETRY_AFTER_CONNECTION_LOST_MS },
      );
    }
    // A Host header no URL can be built from (the GraphQL integration builds one).
    if ((error as { code?: string }).code === 'ERR_INVALID_URL') {
      return sendCodedError(reply, 400, ErrorCode.BAD_REQUEST, 'invalid Host header or URL');
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendCodedError(reply, status, ErrorCode.BAD_REQUEST, error.message);
    }
    request.log.error({ err: error }, 'internal error');
    return sendCodedError(reply, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
  });

  app.setNotFoundHandler((request, reply) => {
    const url = request.url.split('?')[0]!;
    const methods = (['GET', 'POST', 'HEAD'] as const).filter(
      (m) => m !== request.method && app.hasRoute({ method: m, url }),
    );
    if (methods.length > 0) {
      reply.header('allow', methods.join(', '));
      return sendCodedError(
        reply,
        405,
        ErrorCode.METHOD_NOT_ALLOWED,
        `${request.method} is not allowed on ${url}; use ${methods.join(' or ')}`,
      );
    }
    return sendCodedError(
      reply,
      404,
      ErrorCode.ROUTE_NOT_FOUND,
      `no route ${request.method} ${url}`,
    );
  });
}
