// Types of scripts/policy-engine.mjs (plain JavaScript, bundled into the CLI), for the TypeScript
// that imports it: bench/cli.ts and test/cli/build.test.ts.
import type { Script } from 'node:vm';

export declare const ENGINE_FILE: string;
export declare function engineCacheOf(engine: URL): URL;
export type EngineCache = 'accepted' | 'rejected' | 'stale' | 'none';
export declare function loadEngine(engine: URL, imports: Record<string, () => Promise<unknown>>): { exports: Record<string, unknown>; script: Script; cache: EngineCache };
