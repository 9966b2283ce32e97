// A batched request (a JSON array of operations) runs whole or not at all. Apollo Server runs a
// batch's operations side by side; each is parsed, validated and checked (allow-list, scopes,
// variables, limits: guard.ts) as usual, but none starts executing until every operation of
// the batch has passed. When one is refused, the others are answered "not run" with the
// refusal's HTTP status, so a 4xx answer never hides mutations that ran.

/** The first refused operation of a batch. */
export interface BatchRefusal {
  /** Its place in the batch (0 = first). */
  index: number;
  code: string;
  status: number;
}

/** One per batched HTTP request, shared by its operations through the GraphQL context. */
export class BatchGate {
  private started = 0;
  private waiting: number;
  private refusal: BatchRefusal | null = null;
  private open!: () => void;
  private readonly allReported = new Promise<void>((resolve) => (this.open = resolve));

  constructor(readonly size: number) {
    this.waiting = size;
  }

  /** The index of an operation that starts: Apollo Server starts them in batch order. */
  enter(): number {
    return this.started++;
  }

  /**
   * Operation `index` passed its checks: resolves once every operation of the batch has
   * reported, with the first refusal among them (null: all passed, run).
   */
  async passed(): Promise<BatchRefusal | null> {
    this.report();
    await this.allReported;
    return this.refusal;
  }

  /** Operation `index` was refused before running. */
  refused(index: number, code: string, status: number): void {
    if (this.refusal === null || index < this.refusal.index) this.refusal = { index, code, status };
    this.report();
  }

  private report(): void {
    this.waiting -= 1;
    if (this.waiting === 0) this.open();
  }
}

/**
 * Why Apollo Server would refuse `piece` of a batched body before it reaches the GraphQL
 * pipeline (the checks of its runHttpQuery, which throw for the whole batch while the other
 * operations may already run); null when it would not. Checked for every piece before any runs.
 */
export function batchPieceProblem(piece: unknown): string | null {
  const isRecord = (v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
  if (!isRecord(piece) || Object.keys(piece as object).length === 0)
    return 'an operation must be a JSON object with a query';
  const { query, variables, extensions, operationName } = piece as Record<string, unknown>;
  if (query && typeof query !== 'string') return '`query` must be a string';
  if (variables !== undefined && variables !== null && !isRecord(variables))
    return '`variables` must be an object';
  if (extensions !== undefined && extensions !== null && !isRecord(extensions))
    return '`extensions` must be an object';
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string')
    return '`operationName` must be a string';
  return null;
}
