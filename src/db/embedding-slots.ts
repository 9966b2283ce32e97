// The two sets of item-embedding columns (migrations 001 and 016). Each serving model reads
// and writes one of them; a rollout fills the other while the serving model goes on serving
// (docs/rollout.md). Column names in SQL come from this fixed table only, never from input.

export type EmbeddingSlot = 'a' | 'b';

export const EMBEDDING_SLOTS: readonly EmbeddingSlot[] = ['a', 'b'];

/** One slot's columns of `items`. */
export interface SlotColumns {
  /** `vector(dim)`, with an inner-product HNSW index. */
  readonly embedding: string;
  /** 'model' (learned) or 'content' (content tower). */
  readonly source: string;
  /** The version of the model that wrote the vector. */
  readonly version: string;
}

const COLUMNS: Readonly<Record<EmbeddingSlot, SlotColumns>> = {
  a: {
    embedding: 'embedding',
    source: 'embedding_source',
    version: 'embedding_model_version',
  },
  b: {
    embedding: 'embedding_b',
    source: 'embedding_b_source',
    version: 'embedding_b_model_version',
  },
};

/** The columns of `slot`; throws for anything but 'a' or 'b' (so no other text reaches SQL). */
export function slotColumns(slot: EmbeddingSlot = 'a'): SlotColumns {
  const columns = Object.hasOwn(COLUMNS, slot) ? COLUMNS[slot] : undefined;
  if (!columns) throw new Error(`no embedding slot "${String(slot)}" (a or b)`);
  return columns;
}

export const otherSlot = (slot: EmbeddingSlot): EmbeddingSlot => (slot === 'a' ? 'b' : 'a');
