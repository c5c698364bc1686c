// The models component's only public door (docs/design.md, "Component map"; docs/models.md):
// local NIM, vLLM and OpenAI-compatible servers as containers through the Docker Engine API,
// registered as `local` providers of the inference router once ready. Only `nemoclaw models`
// loads it, so no other command pays for dockerode.
export { Models, ModelError, buildSpec, deviceRequests, hostHasGpu, homeId, engineAddress, demux, LABEL } from './models.ts';
export type { ModelInfo, StartOptions, Spec, Progress } from './models.ts';
export { ENGINES, PRESETS, TOOL_CALL_PARSERS, toolCallParser, isEngine } from './presets.ts';
export type { Engine, EnginePreset } from './presets.ts';
export { ModelWatch, statsFigures } from './watch.ts';
export type { WatchedModel, WatchStatus, ModelWatchOptions, StatsSample, StatsFigures } from './watch.ts';
export { readGpuMemory, checkGpuMemory, parseGpuMemoryLine } from './gpu.ts';
export type { GpuMemory } from './gpu.ts';
export { gpuMemoryNeedGiB, paramsBillions, GPU_MEMORY_RULE } from './presets.ts';
