// The text component's only public door: making untrusted text safe to show on a terminal. No
// React, no Ink, no I/O: the CLI, the TUI and headless code all import it from here.
export { inert, inertJson } from './inert.ts';
export type { InertOptions } from './inert.ts';
