// What each serving engine needs to run as a local model, as data (docs/models.md, "Engines"):
// the port inside the container, the readiness paths polled in order, shared memory and IPC, the
// cache mount, the key the engine itself needs (NIM's NGC_API_KEY, taken from the variable the
// operator names), and the arguments that make tool calls arrive as tool calls (vLLM). Adding an
// engine is a row here, not a branch in the start path.

export const ENGINES = ['nim', 'vllm', 'openai-compatible'] as const;
export type Engine = (typeof ENGINES)[number];

export interface EnginePreset {
  /** The port the server listens on inside the container (published on 127.0.0.1 only). */
  containerPort: number;
  /** Readiness: each path must answer 2xx, in order, before the model is registered. */
  readiness: string[];
  /** HostConfig.ShmSize in bytes (NIM: --shm-size 16g), or 0 for the engine default. */
  shmBytes: number;
  /** HostConfig.IpcMode host (vLLM's tensor-parallel workers share memory through it). */
  ipcHost: boolean;
  /** Where the engine keeps downloaded weights; a volume or --cache DIR is mounted there. */
  cacheMount: string;
  /** The variable inside the container that must carry the engine's own key (NIM), or null. */
  engineKeyEnv: string | null;
  /** Whether the server is started with an --api-key that only the router holds (vLLM). */
  routerKey: boolean;
  /** GPUs asked for when --gpus is not given. */
  defaultGpus: 'all' | 'none';
  /** The provider type the model is registered as (src/inference, docs/inference.md). */
  providerType: 'nim' | 'vllm' | 'openai-compatible';
  /** Arguments after the image's entrypoint. */
  args(o: { model: string | null; port: number; apiKey: string | null }): string[];
  /** Environment for the container (besides the engine's key). */
  env(o: { model: string | null }): string[];
  /** GPU memory (GiB) assumed when neither the model id nor the image names a size; null: unknown. */
  defaultGpuGiB: number | null;
}

/**
 * vLLM's parser for tool calls, by model family: without --enable-auto-tool-choice and the right
 * parser, tool calls come back as plain text in `content` and agents never run them.
 */
export const TOOL_CALL_PARSERS: ReadonlyArray<{ match: RegExp; parser: string }> = [
  { match: /llama-?3|llama3/i, parser: 'llama3_json' },
  { match: /mistral|mixtral/i, parser: 'mistral' },
  { match: /granite/i, parser: 'granite' },
  { match: /internlm/i, parser: 'internlm' },
  { match: /hermes|qwen|nemotron/i, parser: 'hermes' },
];

export function toolCallParser(model: string | null): string {
  for (const row of TOOL_CALL_PARSERS) if (model !== null && row.match.test(model)) return row.parser;
  return 'hermes';
}

export const PRESETS: Readonly<Record<Engine, EnginePreset>> = {
  nim: {
    containerPort: 8000,
    readiness: ['/v1/health/ready'],
    shmBytes: 16 * 1024 ** 3,
    ipcHost: false,
    cacheMount: '/opt/nim/.cache',
    engineKeyEnv: 'NGC_API_KEY',
    routerKey: false,
    defaultGpus: 'all',
    providerType: 'nim',
    // A NIM serves the model baked into its image; the port is set through its own variable.
    args: () => [],
    env: ({ model }) => ['NIM_SERVER_PORT=8000', ...(model !== null ? [`NIM_SERVED_MODEL_NAME=${model}`] : [])],
    // An 8B-class model, the smallest LLM NIMs ship, by the rule below.
    defaultGpuGiB: 19,
  },
  vllm: {
    containerPort: 8000,
    readiness: ['/health', '/v1/models'],
    shmBytes: 0,
    ipcHost: true,
    cacheMount: '/root/.cache/huggingface',
    engineKeyEnv: null,
    routerKey: true,
    defaultGpus: 'all',
    providerType: 'vllm',
    args: ({ model, port, apiKey }) => [
      ...(model !== null ? ['--model', model] : []),
      '--host', '0.0.0.0',
      '--port', String(port),
      ...(apiKey !== null ? ['--api-key', apiKey] : []),
      '--enable-auto-tool-choice',
      '--tool-call-parser', toolCallParser(model),
    ],
    env: () => [],
    // A 7B model by the rule below.
    defaultGpuGiB: 17,
  },
  'openai-compatible': {
    containerPort: 8000,
    readiness: ['/v1/models'],
    shmBytes: 0,
    ipcHost: false,
    cacheMount: '/root/.cache',
    engineKeyEnv: null,
    routerKey: false,
    defaultGpus: 'none',
    providerType: 'openai-compatible',
    // Any server (llama.cpp, Ollama, TGI, a stand-in): its image decides its arguments; it must
    // serve on 8000 inside, and --model only names the id the router sends.
    args: () => [],
    env: () => [],
    // Anything from a 0.5B GGUF to a 70B: no guess, so no refusal (the size in the id still counts).
    defaultGpuGiB: null,
  },
};

/**
 * A rough rule for the GPU memory a model needs (docs/models.md, "GPU memory"), not a measurement:
 * 2 bytes per parameter (bf16/fp16 weights, what NIM and vLLM load by default), 20% on top for the
 * KV cache and activations at a modest context, and 1 GiB for the CUDA context. The parameter count
 * comes from the model id or the image name ("Qwen2.5-7B-Instruct", "llama-3.1-8b-instruct",
 * "Mixtral-8x7B"); without one, the preset's default.
 */
export const GPU_MEMORY_RULE = { bytesPerParam: 2, overhead: 0.2, cudaContextGiB: 1 } as const;

/** Billions of parameters named in a model id or image ("7B", "8b", "8x7B", "0.5B"), or null. */
export function paramsBillions(text: string): number | null {
  const m = /(?:^|[^a-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)b(?![a-z0-9])/i.exec(text);
  if (!m) return null;
  return (m[1] !== undefined ? Number(m[1]) : 1) * Number(m[2]);
}

/** GiB of GPU memory the model is expected to need (rounded up), or null when unknown. */
export function gpuMemoryNeedGiB(engine: Engine, model: string | null, image = ''): number | null {
  const b = paramsBillions(model ?? '') ?? paramsBillions(image.split('/').pop() ?? '');
  if (b === null) return PRESETS[engine].defaultGpuGiB;
  const r = GPU_MEMORY_RULE;
  return Math.ceil(((b * 1e9 * r.bytesPerParam) / 2 ** 30) * (1 + r.overhead) + r.cudaContextGiB);
}

export function isEngine(e: string): e is Engine {
  return (ENGINES as readonly string[]).includes(e);
}
