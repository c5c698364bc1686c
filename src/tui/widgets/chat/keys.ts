import type { Handler, KeyBinding } from '../../input/types.ts';

export const chatKeys: readonly KeyBinding[] = [];
export const chatActions: Record<string, Handler> = {};
