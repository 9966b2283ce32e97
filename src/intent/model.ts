// The purchase-intent model (models/intent): one ONNX graph from the 17 raw UCI features of a
// session to its calibrated purchase probability, with its manifest (intent.json). Loaded like
// the sequence model: CUDA when the host has it, else the CPU.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { openSession, ort, type ExecutionProvider } from '../inference/onnx.js';
import { INTENT_FEATURES } from './features.js';

const manifestSchema = z.object({
  version: z.string().min(1),
  input: z.string().min(1),
  output: z.string().min(1),
  features: z.array(z.string()),
  threshold: z.number().min(0).max(1),
});

export type IntentManifest = z.infer<typeof manifestSchema>;

export class IntentModel {
  /** ONNX calls so far and the rows they scored (one call per merged forecast batch). */
  readonly calls = { calls: 0, rows: 0 };

  private constructor(
    readonly manifest: IntentManifest,
    private readonly session: ort.InferenceSession,
    readonly provider: ExecutionProvider,
  ) {}

  get version(): string {
    return this.manifest.version;
  }

  /** Loads `dir/intent.json` and `dir/intent.onnx`; throws when the manifest's features are
   * not the ones the gateway computes (src/intent/features.ts), in the same order. */
  static async load(dir: string, provider: 'auto' | 'cuda' | 'cpu'): Promise<IntentModel> {
    const file = path.join(dir, 'intent.json');
    const parsed = manifestSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (!parsed.success) throw new Error(`${file}: ${parsed.error.message}`);
    const manifest = parsed.data;
    if (manifest.features.join() !== INTENT_FEATURES.join())
      throw new Error(
        `${file} lists features [${manifest.features.join(', ')}]; the gateway computes ` +
          `[${INTENT_FEATURES.join(', ')}]`,
      );
    const opened = await openSession(path.join(dir, 'intent.onnx'), provider, 1);
    return new IntentModel(manifest, opened.session, opened.provider);
  }

  /** Purchase probabilities of a batch of feature rows: one ONNX call. */
  async predict(rows: readonly (readonly number[])[]): Promise<number[]> {
    if (rows.length === 0) return [];
    const width = INTENT_FEATURES.length;
    const data = new Float32Array(rows.length * width);
    rows.forEach((r, i) => data.set(r, i * width));
    this.calls.calls += 1;
    this.calls.rows += rows.length;
    const out = await this.session.run({
      [this.manifest.input]: new ort.Tensor('float32', data, [rows.length, width]),
    });
    const p = out[this.manifest.output]?.data as Float32Array | undefined;
    if (!p || p.length !== rows.length)
      throw new Error(`intent model returned ${p?.length ?? 0} probabilities for ${rows.length}`);
    return Array.from(p);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
