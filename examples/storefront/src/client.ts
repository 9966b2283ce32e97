// A typed storefront client for Foresight: every operation is a document compiled from
// examples/storefront/operations/*.graphql by GraphQL Code Generator's client preset, so its
// variables and result are checked by TypeScript against the gateway's schema.
import type { TypedDocumentString } from './gql/graphql.js';

export class ForesightError extends Error {
  constructor(
    message: string,
    /** GraphQL `extensions.code` of the first error (BAD_USER_INPUT, NOT_FOUND,
     * UNAUTHENTICATED, RATE_LIMITED, …). */
    readonly code: string | undefined,
    /** The input field it names, when it names one (`events[2].itemId`). */
    readonly field: string | undefined,
  ) {
    super(message);
    this.name = 'ForesightError';
  }
}

export class ForesightClient {
  /**
   * `url`: the gateway's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql; `apiKey`: a key
   * with the scopes the operations need (read, write:events), once the gateway requires keys
   * (docs/security.md).
   */
  constructor(
    private readonly url: string,
    private readonly apiKey?: string,
    /**
     * Send each document by its id alone (`documentId`, the hash in persisted-documents.json),
     * as a gateway that lists that manifest in OPERATION_ALLOW_LIST expects (trusted documents).
     */
    private readonly persisted = false,
  ) {}

  async request<TResult, TVariables>(
    document: TypedDocumentString<TResult, TVariables>,
    ...[variables]: TVariables extends Record<string, never> ? [] : [TVariables]
  ): Promise<TResult> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(this.apiKey && { authorization: `Bearer ${this.apiKey}` }),
      },
      body: JSON.stringify(
        this.persisted && document.__meta__?.hash
          ? { documentId: document.__meta__.hash, variables }
          : { query: document.toString(), variables },
      ),
    });
    const body = (await res.json()) as {
      data?: TResult;
      errors?: { message: string; extensions?: { code?: string; field?: string } }[];
    };
    const first = body.errors?.[0];
    if (first)
      throw new ForesightError(first.message, first.extensions?.code, first.extensions?.field);
    if (!body.data)
      throw new ForesightError(`HTTP ${res.status} without data`, undefined, undefined);
    return body.data;
  }
}
