// Exact top-k by inner product on ONNX Runtime's CPU kernels: scores = queries · itemsᵀ + bias,
// then the k best of each row. The graph has two nodes (Gemm, TopK) and is written here as ONNX
// protobuf, so no file ships for it; the item matrix is an input, so one session serves any
// catalogue. src/retrieval/exact.ts runs candidate retrieval on it where the catalogue is small
// enough (bench/retrieval-scale.ts measures where).
import { ort } from './onnx.js';

const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
/** A length-delimited protobuf field (a string or an embedded message). */
const field = (no: number, body: number[] | string): number[] => {
  const bytes = typeof body === 'string' ? [...Buffer.from(body)] : body;
  return [...varint((no << 3) | 2), ...varint(bytes.length), ...bytes];
};
/** A varint protobuf field. */
const intField = (no: number, v: number): number[] => [...varint(no << 3), ...varint(v)];

/** ValueInfoProto of a tensor: name, element type, dimensions (numbers or symbolic names). */
const tensorInfo = (name: string, elem: number, dims: readonly (string | number)[]): number[] =>
  field(1, name).concat(
    field(
      2,
      field(
        1,
        intField(1, elem).concat(
          field(
            2,
            dims.flatMap((d) => field(1, typeof d === 'number' ? intField(1, d) : field(2, d))),
          ),
        ),
      ),
    ),
  );

/**
 * The ONNX model (opset 17): inputs `queries` [B, dim], `items` [N, dim], `bias` [1, N] (0, or
 * −∞ for an item that must not be returned) and `k` [1] int64; outputs `values` [B, k] and
 * `indices` [B, k] int64, best first.
 */
export function exactTopModel(dim: number): Uint8Array {
  const FLOAT = 1;
  const INT64 = 7;
  const ATTRIBUTE_INT = 2;
  const gemm = field(1, 'queries')
    .concat(field(1, 'items'), field(1, 'bias'), field(2, 'scores'), field(4, 'Gemm'))
    .concat(field(5, field(1, 'transB').concat(intField(3, 1), intField(20, ATTRIBUTE_INT))));
  const topk = field(1, 'scores').concat(
    field(1, 'k'),
    field(2, 'values'),
    field(2, 'indices'),
    field(4, 'TopK'),
  );
  const graph = field(1, gemm).concat(
    field(1, topk),
    field(2, 'exact_top'),
    field(11, tensorInfo('queries', FLOAT, ['B', dim])),
    field(11, tensorInfo('items', FLOAT, ['N', dim])),
    field(11, tensorInfo('bias', FLOAT, [1, 'N'])),
    field(11, tensorInfo('k', INT64, [1])),
    field(12, tensorInfo('values', FLOAT, ['B', 'K'])),
    field(12, tensorInfo('indices', INT64, ['B', 'K'])),
  );
  // ir_version 8, opset_import { domain "", version 17 }, graph
  return Uint8Array.from(intField(1, 8).concat(field(8, intField(2, 17)), field(7, graph)));
}

/**
 * The ONNX model (opset 17) of all inner products: `queries` [B, dim] · `items` [N, dim]ᵀ →
 * `scores` [B, N] (one Gemm).
 */
export function innerProductsModel(dim: number): Uint8Array {
  const FLOAT = 1;
  const ATTRIBUTE_INT = 2;
  const gemm = field(1, 'queries')
    .concat(field(1, 'items'), field(2, 'scores'), field(4, 'Gemm'))
    .concat(field(5, field(1, 'transB').concat(intField(3, 1), intField(20, ATTRIBUTE_INT))));
  const graph = field(1, gemm).concat(
    field(2, 'inner_products'),
    field(11, tensorInfo('queries', FLOAT, ['B', dim])),
    field(11, tensorInfo('items', FLOAT, ['N', dim])),
    field(12, tensorInfo('scores', FLOAT, ['B', 'N'])),
  );
  return Uint8Array.from(intField(1, 8).concat(field(8, intField(2, 17)), field(7, graph)));
}

/** One ONNX Runtime session of a graph written here, on one CPU thread; queries [B, dim]. */
abstract class GraphSession {
  protected constructor(
    protected readonly session: ort.InferenceSession,
    readonly dim: number,
  ) {}

  protected static create(graph: Uint8Array): Promise<ort.InferenceSession> {
    return ort.InferenceSession.create(graph, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
  }

  protected queries(queries: Float32Array): ort.Tensor {
    return new ort.Tensor('float32', queries, [queries.length / this.dim, this.dim]);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** innerProductsModel's session. */
export class InnerProducts extends GraphSession {
  static async open(dim: number): Promise<InnerProducts> {
    return new InnerProducts(await GraphSession.create(innerProductsModel(dim)), dim);
  }

  /** `queries` [B · dim] against `items` [N, dim]: [B · N], row-major. */
  async run(queries: Float32Array, items: ort.Tensor): Promise<Float32Array> {
    const out = await this.session.run({ queries: this.queries(queries), items });
    const scores = out.scores?.data;
    if (!(scores instanceof Float32Array)) throw new Error('inner products: output scores missing');
    return scores;
  }
}

/** The k best items of each query: row indices into the matrix and their scores, best first. */
export interface TopRows {
  indices: BigInt64Array;
  values: Float32Array;
  /** Entries per query (k). */
  k: number;
}

/** exactTopModel's session. */
export class ExactTop extends GraphSession {
  static async open(dim: number): Promise<ExactTop> {
    return new ExactTop(await GraphSession.create(exactTopModel(dim)), dim);
  }

  /** `queries` [B · dim] against `items` [N, dim] with `bias` [1, N]; k ≤ N. */
  async top(
    queries: Float32Array,
    items: ort.Tensor,
    bias: ort.Tensor,
    k: number,
  ): Promise<TopRows> {
    const out = await this.session.run({
      queries: this.queries(queries),
      items,
      bias,
      k: new ort.Tensor('int64', BigInt64Array.from([BigInt(k)]), [1]),
    });
    const indices = out.indices?.data;
    const values = out.values?.data;
    if (!(indices instanceof BigInt64Array) || !(values instanceof Float32Array)) {
      throw new Error('exact top-k: outputs indices (int64) and values (float32) missing');
    }
    return { indices, values, k };
  }
}
