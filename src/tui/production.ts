// Imported first by src/tui/index.ts, before React loads: React and its reconciler pick their
// development or production build from NODE_ENV when first required, and the development build
// costs several times the CPU per frame (measured: React was ~30% of the TUI's profile at
// 5,000 events/s). Only fills in an unset NODE_ENV; an explicit value (tests: "test") wins.
if (process.env['NODE_ENV'] === undefined) process.env['NODE_ENV'] = 'production';

export {};
