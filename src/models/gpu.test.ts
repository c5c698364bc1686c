// GPU memory before a model starts: nvidia-smi's lines (with and without the uuid field), the
// rough need per model size, and the one-line refusal naming both numbers.
import { describe, expect, it } from 'vitest';
import { checkGpuMemory, parseGpuMemoryLine, readGpuMemory } from './gpu.ts';
import { gpuMemoryNeedGiB, paramsBillions } from './presets.ts';

const FAKE = new URL('../../test/tui/fixtures/fake-nvidia-smi', import.meta.url).pathname;

describe('GPU memory', () => {
  it('parses nvidia-smi lines with and without the uuid field; anything else is null', () => {
    expect(parseGpuMemoryLine('0, GPU-5c3f9a0e-1b2d, NVIDIA H100 80GB HBM3, 3, 75000, 81559, 38, 70.00')).toEqual({ index: 0, name: 'NVIDIA H100 80GB HBM3', totalMiB: 81559, usedMiB: 75000 });
    expect(parseGpuMemoryLine('1, NVIDIA A100, PCIe, 0, 100, 40960, 30, 50.1')).toEqual({ index: 1, name: 'NVIDIA A100, PCIe', totalMiB: 40960, usedMiB: 100 });
    expect(parseGpuMemoryLine('0, NVIDIA X, 0, [N/A], 81559, 38, 70')).toBeNull();
    expect(parseGpuMemoryLine('No devices were found')).toBeNull();
  });

  it('the need by model size (2 bytes a parameter, +20%, +1 GiB), else the preset default', () => {
    expect(paramsBillions('Qwen/Qwen2.5-7B-Instruct')).toBe(7);
    expect(paramsBillions('mistralai/Mixtral-8x7B-Instruct-v0.1')).toBe(56);
    expect(paramsBillions('gpt-4o')).toBeNull();
    expect(gpuMemoryNeedGiB('vllm', 'Qwen/Qwen2.5-7B-Instruct')).toBe(17);
    expect(gpuMemoryNeedGiB('vllm', 'meta-llama/Llama-3.1-70B-Instruct')).toBe(158);
    expect(gpuMemoryNeedGiB('nim', null, 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3')).toBe(19);
    expect(gpuMemoryNeedGiB('openai-compatible', 'my-model')).toBeNull();
  });

  it('refuses with one line naming the need and the freest requested GPU; silent when it fits, unknown, or no GPU asked', () => {
    const gpus = [
      { index: 0, name: 'NVIDIA H100', totalMiB: 81559, usedMiB: 75000 },
      { index: 1, name: 'NVIDIA H100', totalMiB: 81559, usedMiB: 60000 },
    ];
    expect(() => checkGpuMemory({ name: 'm', needGiB: 17, gpus: 'all', gpusFound: gpus })).not.toThrow(); // GPU 1 has 21 GiB
    expect(() => checkGpuMemory({ name: 'm', needGiB: 17, gpus: '0', gpusFound: gpus })).toThrow(
      'model m needs about 17 GiB of GPU memory; the freest GPU (0, NVIDIA H100) has 6.4 GiB free of 79.6 GiB (nvidia-smi memory.total - memory.used): stop what uses it or choose a smaller model',
    );
    expect(() => checkGpuMemory({ name: 'm', needGiB: 17, gpus: '7', gpusFound: gpus })).toThrow('--gpus 7 names no GPU nvidia-smi lists (it lists 0, 1)');
    expect(() => checkGpuMemory({ name: 'm', needGiB: 500, gpus: 'none', gpusFound: gpus })).not.toThrow();
    expect(() => checkGpuMemory({ name: 'm', needGiB: null, gpus: 'all', gpusFound: gpus })).not.toThrow();
    expect(() => checkGpuMemory({ name: 'm', needGiB: 17, gpus: 'all', gpusFound: null })).not.toThrow();
  });

  it('reads the FAKE nvidia-smi from NEMOCLAW_NVIDIA_SMI, free memory set by FAKE_NVIDIA_SMI_MEM_USED; null when it fails', async () => {
    const g = await readGpuMemory({ ...process.env, NEMOCLAW_NVIDIA_SMI: FAKE, FAKE_NVIDIA_SMI_MEM_USED: '70000', FAKE_NVIDIA_SMI_GPUS: '2' });
    expect(g).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', totalMiB: 81559, usedMiB: 70000 },
      { index: 1, name: 'NVIDIA H100 80GB HBM3', totalMiB: 81559, usedMiB: 70000 },
    ]);
    expect(await readGpuMemory({ ...process.env, NEMOCLAW_NVIDIA_SMI: FAKE, FAKE_NVIDIA_SMI_FAIL: '1' })).toBeNull();
    expect(await readGpuMemory({ ...process.env, NEMOCLAW_NVIDIA_SMI: '/nonexistent/nvidia-smi' })).toBeNull();
  });
});
