// Telemetry: GPU (streamed nvidia-smi) and host (systeminformation). No React, no blocking calls.
export type { GpuSample, GpuProcess, GpuOwner, GpuStatus, HostSample } from './types.ts';
export { containerIdFromCgroup, gpuOwner, readProcFacts, withOwners, ownerLabel, type ProcFacts, type OwnerIndex, type OwnerSources } from './owner.ts';
export { startGpuMonitor, parseGpuLine, parseAppLine, parseNumber, gpuQueryArgs, appsQueryArgs, nvidiaSmiCommand, GPU_QUERY_FIELDS, APPS_QUERY_FIELDS, type GpuMonitor, type GpuMonitorOptions } from './nvidia-smi.ts';
export { startHostMonitor, readHostSample, type HostMonitor, type HostMonitorOptions } from './host.ts';
