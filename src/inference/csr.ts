// The item tables a model ships beside its graphs (transitions.bin, cooccurrence.bin;
// models/README.md): compressed sparse rows over model item indices. One layout for every
// table, read once at load time; what the values mean is the scoring term's business
// (src/forecast/terms/).

/**
 * A CSR table over the model's items, rows 0 .. numItems (row 0 is padding): int32
 * `indptr [numItems + 2]`, int32 `cols [nnz]`, then `nnz` 4-byte values (int32 counts or
 * float32 weights: `counts` and `weights` view the same bytes). Each row is stored in the order
 * its term ranks it (most frequent or most similar first).
 */
export class CsrTable {
  private constructor(
    readonly indptr: Int32Array,
    readonly cols: Int32Array,
    /** The values as int32 (e.g. transition counts). */
    readonly counts: Int32Array,
    /** The values as float32 (e.g. similarities). */
    readonly weights: Float32Array,
  ) {}

  /**
   * Reads a table file; throws naming `name` when its size does not fit `numItems` items or its
   * own indptr. `what` names the table in that message (e.g. "transition table").
   */
  static parse(raw: Buffer, numItems: number, name: string, what: string): CsrTable {
    const rows = numItems + 1;
    if (raw.byteLength % 4 !== 0 || raw.byteLength < (rows + 1) * 4) {
      throw new Error(`${name}: ${raw.byteLength} bytes is not a ${what} for ${numItems} items`);
    }
    // Aligned copy (pooled Buffers may not be 4-byte aligned); int32 and float32 views share it.
    const bytes = new Uint8Array(raw.byteLength);
    bytes.set(raw);
    const ints = new Int32Array(bytes.buffer);
    const indptr = ints.subarray(0, rows + 1);
    const nnz = indptr[rows] as number;
    if (ints.length !== rows + 1 + 2 * nnz) {
      throw new Error(`${name}: ${ints.length} 4-byte values, expected ${rows + 1 + 2 * nnz}`);
    }
    const offset = (rows + 1 + nnz) * 4;
    return new CsrTable(
      indptr,
      ints.subarray(rows + 1, rows + 1 + nnz),
      new Int32Array(bytes.buffer, offset, nnz),
      new Float32Array(bytes.buffer, offset, nnz),
    );
  }

  /** Stored entries in all rows. */
  get size(): number {
    return this.cols.length;
  }

  /** Rows, padding included (numItems + 1). */
  get rows(): number {
    return this.indptr.length - 1;
  }

  /** Where row `i` starts in `cols` and the values. */
  start(i: number): number {
    return this.indptr[i] as number;
  }

  /** Where row `i` ends (exclusive). */
  end(i: number): number {
    return this.indptr[i + 1] as number;
  }

  /** The position of column `j` in row `i`, or -1 when the row does not store it. */
  find(i: number, j: number): number {
    const end = this.end(i);
    for (let k = this.start(i); k < end; k++) if (this.cols[k] === j) return k;
    return -1;
  }

  /**
   * The columns of each of `rows` (row indices; 0 and below are skipped), up to `limit` per
   * row, in order, without repeats.
   */
  columnsOf(rows: readonly number[], limit = Infinity): number[] {
    const out = new Set<number>();
    for (const i of rows) {
      if (!(i > 0)) continue;
      const start = this.indptr[i] as number;
      const end = Math.min(this.indptr[i + 1] as number, start + limit);
      for (let k = start; k < end; k++) out.add(this.cols[k] as number);
    }
    return [...out];
  }
}
