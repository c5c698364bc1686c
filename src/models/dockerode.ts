// dockerode without the two parts nemoclaw does not use until something calls them (issue 23):
// dockerode's BuildKit session (lib/session.js: @grpc/grpc-js and protobufjs, for image builds
// that open a session) and docker-modem's SSH transport (lib/ssh.js: ssh2, for DOCKER_HOST=ssh://).
// Each package requires its file at the top of its main module, so every `nemoclaw models` verb
// paid ~65 of the ~90 ms that loading dockerode took (bench/models-import.ts). Before dockerode
// loads, each file's entry in the CommonJS module cache is given a function that, at its first
// call, drops itself from the cache, loads the real file and forwards to it: the packages' own
// code runs whenever they use either part. Both files export one plain function (checked at that
// first call). A file not where this expects it (another layout of the packages) is left alone:
// dockerode then loads it as before, only slower.
import type DockerT from 'dockerode';
import type { Module as NodeModule } from 'node:module';

/** The files deferred, as a package's `require` resolves them. */
export const DEFERRED = [
  { from: 'dockerode', id: 'dockerode/lib/session.js' },
  { from: 'docker-modem', id: 'docker-modem/lib/ssh.js' },
] as const;

let loaded: typeof DockerT | undefined;

/** The Docker class of dockerode, loaded once with the deferred files in place. */
export function loadDockerode(): typeof DockerT {
  if (loaded !== undefined) return loaded;
  const { createRequire, Module } = process.getBuiltinModule('node:module');
  const req = createRequire(import.meta.url);
  // docker-modem is dockerode's dependency: resolved from dockerode's own folder, as it would be.
  const fromDockerode = createRequire(req.resolve('dockerode'));
  for (const { id } of DEFERRED) defer(fromDockerode, id, Module);
  loaded = req('dockerode') as typeof DockerT;
  return loaded;
}

function defer(req: NodeJS.Require, id: string, ModuleClass: typeof NodeModule): void {
  let file: string;
  try {
    file = req.resolve(id);
  } catch {
    return;
  }
  // Already loaded (or already deferred): nothing to save.
  if (req.cache[file] !== undefined) return;
  let real: ((...args: unknown[]) => unknown) | undefined;
  const stub = new ModuleClass(file);
  stub.filename = file;
  stub.loaded = true;
  stub.exports = function deferredExport(this: unknown, ...args: unknown[]): unknown {
    if (real === undefined) {
      if (req.cache[file] === stub) delete req.cache[file];
      const exported: unknown = req(file);
      if (typeof exported !== 'function') throw new Error(`${id} no longer exports a function; nemoclaw's deferred load of it (src/models/dockerode.ts) needs updating`);
      real = exported as (...a: unknown[]) => unknown;
    }
    return real.apply(this, args);
  };
  req.cache[file] = stub;
}
