// Types of scripts/build.mjs (plain JavaScript so that setup.mjs can run it on Node 20), for the
// TypeScript that imports it: test/global-setup.ts and bench/cli.ts.
export declare const BUILD_DIR: string;
export declare const STAMP: string;
export declare function staleness(root: string): string | null;
export declare function build(root: string, say?: (message: string) => void): boolean;
