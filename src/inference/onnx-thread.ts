// ONNX Runtime on a worker thread. onnxruntime-node runs a session synchronously on the thread
// that calls it, so on the main thread every model call stalls the event loop: HTTP parsing,
// SQL results and GraphQL execution of other requests wait for it. A worker thread holds the
// sessions instead; the main thread only builds the input tensors and reads the outputs.
import { Worker } from 'node:worker_threads';
import { log } from '../log.js';
import type { ExecutionProvider, OpenedSession } from './onnx.js';
import { ort } from './onnx.js';

export interface WireTensor {
  type: string;
  data: ArrayBufferView;
  dims: readonly number[];
}

export type Request =
  | {
      op: 'open';
      id: number;
      session: number;
      file: string;
      preference: 'auto' | 'cuda' | 'cpu';
      threads: number;
    }
  | { op: 'run'; id: number; session: number; feeds: Record<string, WireTensor> }
  | { op: 'release'; id: number; session: number };

export type Reply =
  | { id: number; ok: false; error: string }
  | {
      id: number;
      ok: true;
      provider?: ExecutionProvider;
      fallbackReason?: string;
      outputs?: Record<string, WireTensor>;
    };

type Success = Extract<Reply, { ok: true }>;
type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

/** What Model needs of a session, on this thread or on the worker. */
export interface ModelSession {
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

/**
 * One worker thread holding any number of ONNX Runtime sessions. Calls are answered in the
 * order the worker finishes them; the thread exits when its last session is released.
 */
export class OnnxThread {
  private readonly worker: Worker;
  private nextId = 1;
  private nextSession = 1;
  private open = 0;
  private failure: Error | null = null;
  private readonly pending = new Map<
    number,
    { resolve: (r: Success) => void; reject: (e: Error) => void }
  >();

  constructor() {
    this.worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
      workerData: { entry: new URL('./onnx-worker.ts', import.meta.url).href },
    });
    this.worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply);
      else p.reject(new Error(`ONNX Runtime worker: ${reply.error}`));
    });
    const fail = (err: Error) => {
      // Every later model call fails with this error; say so once where operators look.
      if (this.open > 0) log.error({ err }, `${err.message}: model calls will fail until restart`);
      this.failure = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', (err) => fail(new Error('ONNX Runtime worker failed', { cause: err })));
    this.worker.on('exit', (code) => {
      if (!this.failure) fail(new Error(`ONNX Runtime worker exited (code ${code})`));
    });
  }

  private call(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<Success> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<Success>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id }, transfer);
    });
  }

  /** Opens `file` on the worker, with openSession's CUDA-then-CPU choice. */
  async openSession(
    file: string,
    preference: 'auto' | 'cuda' | 'cpu',
    threads: number,
  ): Promise<Omit<OpenedSession, 'session'> & { session: ModelSession }> {
    const session = this.nextSession++;
    this.open += 1;
    try {
      const r = await this.call({ op: 'open', session, file, preference, threads });
      return {
        session: this.handle(session),
        provider: r.provider as ExecutionProvider,
        fallbackReason: r.fallbackReason,
      };
    } catch (err) {
      await this.closed();
      throw err;
    }
  }

  private handle(session: number): ModelSession {
    let released = false;
    return {
      run: async (feeds) => {
        const wire: Record<string, WireTensor> = {};
        const transfer: ArrayBuffer[] = [];
        for (const [name, t] of Object.entries(feeds)) {
          // A feed that owns its whole buffer (as Model builds them, for this call only) is
          // handed over instead of copied; a view into a larger buffer is copied, since
          // transferring would detach the buffer under its other users.
          const view = t.data as Float32Array;
          const owns = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
          const data = owns ? view : view.slice();
          wire[name] = { type: t.type, data, dims: t.dims };
          transfer.push(data.buffer as ArrayBuffer);
        }
        const r = await this.call({ op: 'run', session, feeds: wire }, transfer);
        const out: Record<string, ort.Tensor> = {};
        for (const [name, t] of Object.entries(r.outputs ?? {})) {
          out[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
        }
        return out;
      },
      release: async () => {
        if (released) return;
        released = true;
        try {
          if (!this.failure) await this.call({ op: 'release', session });
        } finally {
          await this.closed();
        }
      },
    };
  }

  private async closed(): Promise<void> {
    this.open -= 1;
    if (this.open === 0) {
      this.failure ??= new Error('ONNX Runtime worker is closed');
      await this.worker.terminate();
    }
  }
}
