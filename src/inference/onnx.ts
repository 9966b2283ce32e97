// ONNX Runtime sessions: created once per model file, on the CUDA execution provider when this
// host has it, otherwise on the CPU; the provider actually used is reported, never assumed.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

/**
 * onnxruntime-node ships CPU binaries only; the CUDA provider library is fetched by its install
 * script on a GPU host (ONNXRUNTIME_NODE_INSTALL=cuda12). Looking for it first avoids a noisy
 * native error on every CPU-only start.
 */
function cudaProviderInstalled(): boolean {
  const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  const dir = path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(path.join(dir, 'libonnxruntime_providers_cuda.so'));
}

export type ExecutionProvider = 'cuda' | 'cpu';

export interface OpenedSession {
  session: ort.InferenceSession;
  provider: ExecutionProvider;
  /** Why CUDA was not used, when it was wanted and the CPU served instead. */
  fallbackReason?: string;
}

/**
 * Opens `file` on CUDA (when `preference` allows) and falls back to the CPU. With
 * `preference: 'cuda'` a missing CUDA provider is an error rather than a silent fallback.
 */
export async function openSession(
  file: string,
  preference: 'auto' | 'cuda' | 'cpu',
  threads = 0,
): Promise<OpenedSession> {
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    ...(threads > 0 && { intraOpNumThreads: threads }),
  };
  let fallbackReason: string | undefined;
  if (preference === 'auto' && !cudaProviderInstalled()) {
    fallbackReason =
      'CUDA provider library not installed (install with ONNXRUNTIME_NODE_INSTALL=cuda12)';
  } else if (preference !== 'cpu') {
    try {
      const session = await ort.InferenceSession.create(file, {
        ...options,
        executionProviders: ['cuda'],
      });
      return { session, provider: 'cuda' };
    } catch (err) {
      if (preference === 'cuda') {
        throw new Error(`CUDA execution provider requested but unavailable for ${file}`, {
          cause: err,
        });
      }
      fallbackReason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    }
  }
  const session = await ort.InferenceSession.create(file, {
    ...options,
    executionProviders: ['cpu'],
  });
  return { session, provider: 'cpu', fallbackReason };
}

export { ort };
