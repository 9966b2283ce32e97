// Item co-occurrence similarities (cooccurrence.bin, models/README.md): the scorer's item-kNN
// input `candidate_cooccurrence`, and the neighbours retrieval adds so that the term stays exact.

/**
 * CSR rows over model item indices (row 0 empty), each row's neighbours most similar first
 * (ties by index), at most `neighbors` per row, similarities > 0.
 */
export class Cooccurrence {
  /**
   * Dense accumulator over item indices for `feature`, all zeros between calls: a row's
   * decayed similarities are summed here and read back per candidate, O(window × neighbours +
   * candidates) without allocation. One per table is enough: `feature` is synchronous.
   */
  private readonly scratch: Float64Array;

  private constructor(
    private readonly indptr: Int32Array,
    private readonly cols: Int32Array,
    private readonly sims: Float32Array,
  ) {
    this.scratch = new Float64Array(indptr.length - 1);
  }

  /**
   * Reads cooccurrence.bin: int32 `indptr [numItems + 2]`, int32 `neighbors [nnz]`, float32
   * `similarities [nnz]`, nnz = `pairs` (model.json `scorer.cooccurrence.pairs`). Throws naming
   * `name` when the file does not fit the manifest.
   */
  static parse(
    raw: Buffer,
    numItems: number,
    manifest: { pairs: number; neighbors: number },
    name: string,
  ): Cooccurrence {
    const rows = numItems + 1;
    if (raw.byteLength % 4 !== 0 || raw.byteLength < (rows + 1) * 4) {
      throw new Error(
        `${name}: ${raw.byteLength} bytes is not a co-occurrence table for ${numItems} items`,
      );
    }
    // Aligned copy (pooled Buffers may not be 4-byte aligned); int32 and float32 views share it.
    const bytes = new Uint8Array(raw.byteLength);
    bytes.set(raw);
    const ints = new Int32Array(bytes.buffer);
    const indptr = ints.subarray(0, rows + 1);
    const nnz = indptr[rows] as number;
    if (nnz !== manifest.pairs) {
      throw new Error(
        `${name}: indptr[${rows}] = ${nnz} pairs, model.json scorer.cooccurrence.pairs says ${manifest.pairs}`,
      );
    }
    if (ints.length !== rows + 1 + 2 * nnz) {
      throw new Error(`${name}: ${ints.length} 4-byte values, expected ${rows + 1 + 2 * nnz}`);
    }
    const cols = ints.subarray(rows + 1, rows + 1 + nnz);
    const sims = new Float32Array(bytes.buffer, (rows + 1 + nnz) * 4, nnz);
    if (indptr[0] !== 0 || indptr[1] !== 0) {
      throw new Error(`${name}: row 0 (padding) must be empty and start at 0`);
    }
    for (let i = 1; i < rows; i++) {
      const start = indptr[i] as number;
      const end = indptr[i + 1] as number;
      if (end < start || end - start > manifest.neighbors) {
        throw new Error(
          `${name}: row ${i} has ${end - start} neighbours (at most ${manifest.neighbors})`,
        );
      }
      for (let k = start; k < end; k++) {
        const j = cols[k] as number;
        if (!(j >= 1 && j <= numItems) || !((sims[k] as number) > 0)) {
          throw new Error(`${name}: row ${i} holds neighbour ${j} with similarity ${sims[k]}`);
        }
      }
    }
    return new Cooccurrence(indptr, cols, sims);
  }

  /** S[from, to]: the similarity of `to` in row `from`, 0 when the row does not store it. */
  similarity(from: number, to: number): number {
    const end = this.indptr[from + 1] as number;
    for (let k = this.indptr[from] as number; k < end; k++) {
      if (this.cols[k] === to) return this.sims[k] as number;
    }
    return 0;
  }

  /** The largest similarity in row `from` (its first entry), 0 for an empty row. */
  strongest(from: number): number {
    const start = this.indptr[from] as number;
    return start < (this.indptr[from + 1] as number) ? (this.sims[start] as number) : 0;
  }

  /** Up to `limit` stored neighbours of `from`, most similar first. */
  neighbors(from: number, limit = Infinity): number[] {
    const start = this.indptr[from] as number;
    const end = Math.min(this.indptr[from + 1] as number, start + limit);
    return Array.from(this.cols.subarray(start, end));
  }

  /**
   * The scorer input of one forecast: `out[at + n] = sum over k of decay^k * S[history[k],
   * candidates[at + n]]` for `n < count`. `history`: model indices of the subject's newest known
   * items, newest first, repeats kept (0 or absent = a missing slot, contributes 0);
   * `candidates`: model indices, 0 for an item the model does not know (gets 0).
   */
  feature(
    history: readonly number[],
    decay: number,
    candidates: Int32Array,
    at: number,
    count: number,
    out: Float32Array,
  ): void {
    const acc = this.scratch;
    let w = 1;
    for (let k = 0; k < history.length; k++, w *= decay) {
      const h = history[k] as number;
      if (!(h > 0)) continue;
      const end = this.indptr[h + 1] as number;
      for (let p = this.indptr[h] as number; p < end; p++) {
        const j = this.cols[p] as number;
        acc[j] = (acc[j] as number) + w * (this.sims[p] as number);
      }
    }
    for (let n = 0; n < count; n++) {
      const j = candidates[at + n] as number;
      out[at + n] = j > 0 ? (acc[j] as number) : 0;
    }
    for (const h of history) {
      if (!(h > 0)) continue;
      const end = this.indptr[h + 1] as number;
      for (let p = this.indptr[h] as number; p < end; p++) acc[this.cols[p] as number] = 0;
    }
  }
}
