// The pull path, which no test machine can reach for real (no registry): a STAND-IN for the
// Docker engine on a unix socket answers only what `models start` asks before and during a pull,
// and streams what the engine streams when a registry refuses mid-pull: progress events, then an
// error object inside a response that is otherwise a success (HTTP 200). dockerode's
// followProgress does not fail on those by itself; start must (docs/models.md, "Images and pulls").
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Models, ModelError } from './index.ts';

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The stand-in engine: `pull` is the body streamed for POST /images/create. */
async function standInEngine(pull: Array<Record<string, unknown>>): Promise<{ socket: string; seen: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'nc-fake-engine-'));
  dirs.push(dir);
  const socket = join(dir, 'docker.sock');
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '').replace(/^\/v[\d.]+/, '').split('?')[0]!;
    seen.push(`${req.method} ${path}`);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/_ping') return res.end('OK');
    if (path === '/containers/json') return json(200, []);
    if (/^\/(containers|images)\/.+\/json$/.test(path)) return json(404, { message: 'No such object' });
    if (path === '/images/create' && req.method === 'POST') {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (const ev of pull) res.write(`${JSON.stringify(ev)}\r\n`);
      return res.end();
    }
    return json(500, { message: `the stand-in engine does not serve ${req.method} ${path}` });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(socket, r));
  return { socket, seen };
}

describe('models start: pulls', () => {
  it('an error object inside a 200 pull stream fails the start with one line naming the image; progress shows layers and bytes', async () => {
    const { socket, seen } = await standInEngine([
      { status: 'Pulling from nim/meta/llama', id: '1.3' },
      { status: 'Downloading', id: 'layer-a', progressDetail: { current: 1_000_000, total: 4_000_000 } },
      { status: 'Downloading', id: 'layer-b', progressDetail: { current: 500_000, total: 2_000_000 } },
      { errorDetail: { message: 'unauthorized: authentication required' }, error: 'unauthorized: authentication required' },
    ]);
    const home = mkdtempSync(join(tmpdir(), 'nc-models-home-'));
    dirs.push(home);
    const lines: string[] = [];
    const err = await new Models(home, { DOCKER_HOST: `unix://${socket}` })
      .start({ name: 'pulled', engine: 'openai-compatible', image: 'nvcr.io/nim/meta/llama:1.3', gpus: 'none', port: 1 }, (l) => lines.push(l))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toBe(
      'image nvcr.io/nim/meta/llama:1.3 is not on this machine and could not be pulled (unauthorized: authentication required); load it with: docker load -i FILE.tar (from docker save nvcr.io/nim/meta/llama:1.3 on a machine that has it)',
    );
    expect(lines[0]).toBe('pulling nvcr.io/nim/meta/llama:1.3');
    expect(lines).toContain('pulling nvcr.io/nim/meta/llama:1.3: 1 layers, 1.0 of 4.0 MB');
    expect(seen).toContain('POST /images/create');
    // Nothing was created after the failed pull.
    expect(seen.some((s) => s.startsWith('POST /containers/create'))).toBe(false);
  });
});
