// Components are written with React.createElement through this `h` helper, in plain .ts files:
// the CLI runs TypeScript directly on Node 24 (type stripping), which handles .ts but not .tsx,
// so JSX would need a loader or a build step. `h` keeps every file runnable as is.
import { createElement, type ReactNode } from 'react';

export const h = createElement;
export type Child = ReactNode;
