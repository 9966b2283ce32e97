// Body of the ONNX Runtime worker thread: opens sessions and runs them off the event loop.
// Messages and their replies are defined in onnx-thread.ts; tensors travel as transferred
// typed arrays (no copy on the way in, one copy of each output on the way out, since ONNX
// Runtime's output buffers are not transferable).
import { parentPort } from 'node:worker_threads';
import { openSession, ort } from './onnx.js';
import type { Reply, Request, WireTensor } from './onnx-thread.js';

const port = parentPort;
if (!port) throw new Error('onnx-worker.ts runs only as a worker thread');

const sessions = new Map<number, ort.InferenceSession>();

async function handle(msg: Request): Promise<{ reply: Reply; transfer: ArrayBuffer[] }> {
  switch (msg.op) {
    case 'open': {
      const opened = await openSession(msg.file, msg.preference, msg.threads);
      sessions.set(msg.session, opened.session);
      return {
        reply: {
          id: msg.id,
          ok: true,
          provider: opened.provider,
          fallbackReason: opened.fallbackReason,
        },
        transfer: [],
      };
    }
    case 'run': {
      const session = sessions.get(msg.session);
      if (!session) throw new Error(`no open session ${msg.session}`);
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(msg.feeds)) {
        feeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
      }
      const out = await session.run(feeds);
      const outputs: Record<string, WireTensor> = {};
      const transfer: ArrayBuffer[] = [];
      for (const [name, t] of Object.entries(out)) {
        const data = (t.data as Float32Array).slice();
        outputs[name] = { type: t.type, data, dims: [...t.dims] };
        transfer.push(data.buffer);
      }
      return { reply: { id: msg.id, ok: true, outputs }, transfer };
    }
    case 'release': {
      await sessions.get(msg.session)?.release();
      sessions.delete(msg.session);
      return { reply: { id: msg.id, ok: true }, transfer: [] };
    }
  }
}

port.on('message', (msg: Request) => {
  handle(msg).then(
    ({ reply, transfer }) => port.postMessage(reply, transfer),
    (err: unknown) =>
      port.postMessage({
        id: msg.id,
        ok: false,
        error: err instanceof Error ? err.message : String(err),
      } satisfies Reply),
  );
});
