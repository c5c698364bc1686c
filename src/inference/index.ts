// The inference component's only public door (docs/design.md, "Component map"): the
// `inference.local` router the egress proxy hands model calls to, the stores of providers (keys
// outside every sandbox) and per-sandbox routes, and the pure redaction functions.
export { createInferenceRouter, testProvider, sseError, allowedHeaders, upstreamUrl, MAX_BODY_BYTES } from './router.ts';
export type { InferenceEvent, InferenceRouterHandle, RouterOptions, ProviderTest, Decision } from './router.ts';
export { ProviderStore, ProviderError, PROVIDER_TYPES, isProviderType, defaultLocation, keyFingerprint } from './providers.ts';
export type { Provider, ProviderType, Location, AddProvider } from './providers.ts';
export { RouteStore, RouteError, MODES, isMode, DEFAULT_IDLE_TIMEOUT_MS } from './routes.ts';
export type { Mode, ModelRoute, SandboxRoute, SetRoute, Budget } from './routes.ts';
export { unscannablePart, redactText, redactJson, redactionContext, restoreText, restoreJson, StreamRestorer, luhnValid, ibanValid, shannonEntropy, MAX_PLACEHOLDER } from './redact.ts';
export type { Redaction, RedactionContext, RedactionKind } from './redact.ts';
export { SseRestorer, SseSplitter, UsageTap, readUsage } from './sse.ts';
export type { Usage } from './sse.ts';
