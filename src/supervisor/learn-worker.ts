// The worker thread behind proposeLearning (learn.ts): one proposal, then exit.
import { parentPort, workerData } from 'node:worker_threads';
import { computeProposal } from './learn.ts';
import type { LearnRequest } from './learn.ts';

try {
  parentPort?.postMessage({ ok: true, proposal: computeProposal(workerData as LearnRequest) });
} catch (err) {
  // A PolicyError's message names the file position; keep it, the API answers it as a 400.
  parentPort?.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) });
}
