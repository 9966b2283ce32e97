// Entry of the ONNX Runtime worker thread (src/inference/onnx-thread.ts). Worker threads do not
// inherit tsx's loader, so this plain-JavaScript file registers it and then loads the
// TypeScript worker body named in workerData.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
