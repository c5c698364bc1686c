// doctor's docker engine row as a pure verdict (the real engine, DOCKER_HOST and dead sockets are
// in test/models/models.test.ts): each failure names the exact command that fixes it.
import { describe, expect, it } from 'vitest';
import { dockerTarget, dockerVerdict } from './doctor.ts';

describe('doctor docker engine row', () => {
  const base = { where: '/var/run/docker.sock', fromEnv: false, dockerdInstalled: true };

  it('reads DOCKER_HOST as dockerode does: unix://, tcp://, else the default socket', () => {
    expect(dockerTarget({})).toEqual({ socketPath: '/var/run/docker.sock', where: '/var/run/docker.sock', fromEnv: false });
    expect(dockerTarget({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' })).toEqual({ socketPath: '/run/user/1000/docker.sock', where: '/run/user/1000/docker.sock', fromEnv: true });
    expect(dockerTarget({ DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toEqual({ host: '127.0.0.1', port: 2375, where: 'tcp://127.0.0.1:2375', fromEnv: true });
    expect(dockerTarget({ DOCKER_HOST: 'ssh://me@host' })).toEqual({ invalid: 'ssh://me@host' });
  });

  it('engine not installed: apt-get install docker.io', () => {
    for (const failure of ['ENOENT', 'ECONNREFUSED']) {
      expect(dockerVerdict({ ...base, failure, dockerdInstalled: false })).toEqual({
        status: 'warn',
        detail: 'no Docker engine at /var/run/docker.sock: dockerd is not installed (needed only for local models)',
        fix: 'apt-get install -y docker.io',
      });
    }
  });

  it('installed but not running: systemctl start docker, or dockerd; with DOCKER_HOST, dockerd -H that address', () => {
    expect(dockerVerdict({ ...base, failure: 'ENOENT' })).toEqual({
      status: 'warn',
      detail: '/var/run/docker.sock missing: the engine is not running (needed only for local models)',
      fix: 'systemctl start docker  (without systemd, as root: dockerd >/var/log/dockerd.log 2>&1 &)',
    });
    expect(dockerVerdict({ ...base, where: 'tcp://127.0.0.1:2375', fromEnv: true, failure: 'ECONNREFUSED' }).fix).toMatch(/^start the engine DOCKER_HOST names: dockerd -H tcp:\/\/127\.0\.0\.1:2375 /);
    expect(dockerVerdict({ ...base, failure: 'EACCES' }).fix).toContain('usermod -aG docker');
    expect(dockerVerdict({ ...base, failure: 'HTTP 500' }).detail).toBe('/var/run/docker.sock does not answer /_ping (HTTP 500) (needed only for local models)');
    expect(dockerVerdict({ ...base, failure: null })).toEqual({ status: 'pass', detail: '/var/run/docker.sock answers /_ping', fix: '' });
  });
});
