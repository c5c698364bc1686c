import type { Handler, KeyBinding } from '../../input/types.ts';

export const gpuKeys: readonly KeyBinding[] = [];
export const gpuActions: Record<string, Handler> = {};
