// A blueprint's `models:` section: what create and onboard start, validated with the rest of the
// blueprint so each mistake is one file:line:col diagnostic before any engine is asked.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINES } from '../models/index.ts';
import { blueprintsDir, gpusFlag, loadBlueprint, MODEL_ENGINES, PolicyError } from './index.ts';

async function withBlueprint(models: string, body: (file: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nc-bp-models-'));
  try {
    const text = (await readFile(join(blueprintsDir(), 'dev.yaml'), 'utf8')).replace(/^models:.*(\n[ -].*)*/m, '').trimEnd();
    const file = join(dir, 'm.yaml');
    await writeFile(file, `${text}\nmodels:\n${models}\n`);
    await body(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('blueprint models:', () => {
  it('the engines are the models component\'s presets', () => {
    expect([...MODEL_ENGINES]).toEqual([...ENGINES]);
  });

  it('loads engine, image, model, gpus and port; gpus as all, none or device ids', async () => {
    await withBlueprint(
      [
        '  - { name: local-llm, engine: vllm, image: vllm/vllm-openai:v0.10.1, model: Qwen/Qwen2.5-7B-Instruct, gpus: [0, 1], port: 8001 }',
        '  - { name: cpu-model, engine: openai-compatible, image: example/llama-cpp:1, gpus: none, port: 8002 }',
        '  - { name: nim-8b, engine: nim, image: nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3, credential_env: NGC_API_KEY, port: 8003 }',
      ].join('\n'),
      async (file) => {
        const bp = await loadBlueprint(file);
        expect(bp.spec.models.map((m) => [m.name, m.engine, gpusFlag(m.gpus) ?? 'default', m.port])).toEqual([
          ['local-llm', 'vllm', '0,1', 8001],
          ['cpu-model', 'openai-compatible', 'none', 8002],
          ['nim-8b', 'nim', 'default', 8003],
        ]);
      },
    );
  });

  it('each mistake is a diagnostic at its line and column', async () => {
    await withBlueprint(
      [
        '  - { name: a, engine: tgi, image: x/y:1, model: m }', // unknown engine
        '  - { name: b, engine: vllm, model: m }', // no image
        '  - { name: c, engine: nim, image: x/nim:1, port: 8001 }', // NIM without its key
        '  - { name: d, engine: vllm, image: x/y:1, model: m, gpus: some, port: 8002 }', // bad gpus
        '  - { name: e, engine: vllm, image: x/y:1, port: 8003 }', // vllm without a model
        '  - { name: Bad, engine: openai-compatible, image: x/y:1, port: 80 }', // name and port
      ].join('\n'),
      async (file) => {
        const err = await loadBlueprint(file).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(PolicyError);
        const lines = (err as PolicyError).message.split('\n').filter((l) => l.startsWith(file));
        const at = (n: number): string[] => lines.filter((l) => new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: models\\[${n}\\]`).test(l));
        expect(at(0).join('\n')).toMatch(/models\[0\]\.engine: .*nim.*vllm.*openai-compatible/);
        expect(at(1).join('\n')).toMatch(/models\[1\]\.image: missing required key/);
        expect(at(2).join('\n')).toMatch(/models\[2\]: a NIM needs its NGC key: credential_env/);
        expect(at(3).join('\n')).toMatch(/models\[3\]\.gpus/);
        expect(at(4).join('\n')).toMatch(/models\[4\]: vllm needs model/);
        expect(at(5).join('\n')).toMatch(/models\[5\]\.name: model names are lower-case/);
        expect(at(5).join('\n')).toMatch(/models\[5\]\.port/);
        // Every diagnostic names a line inside the models: section (after its header line).
        const header = (await readFile(file, 'utf8')).split('\n').indexOf('models:') + 1;
        for (const l of lines) expect(Number(/:(\d+):\d+: /.exec(l)?.[1])).toBeGreaterThan(header);
      },
    );
  });

  it('entries that are each valid can still collide: a name or a port twice', async () => {
    await withBlueprint(
      [
        '  - { name: e, engine: openai-compatible, image: x/y:1 }',
        '  - { name: f, engine: openai-compatible, image: x/y:1, port: 8000 }', // e's default port
        '  - { name: e, engine: openai-compatible, image: x/y:1, port: 8004 }', // name twice
      ].join('\n'),
      async (file) => {
        const err = await loadBlueprint(file).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(PolicyError);
        const text = await readFile(file, 'utf8');
        const lineOf = (needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
        expect((err as PolicyError).message).toContain(`${file}:${lineOf('port: 8000')}:`);
        expect((err as PolicyError).message).toMatch(/models\[1\]\.port: port 8000 is already used by model e/);
        expect((err as PolicyError).message).toContain(`${file}:${lineOf('port: 8004')}:`);
        expect((err as PolicyError).message).toMatch(/models\[2\]\.name: model name e is declared twice \(also entry 1\)/);
      },
    );
  });
});
