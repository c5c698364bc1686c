import { execFileSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { LeafCache, caEnvironment, loadOrCreateCa } from './ca.ts';
import { createCertificateAuthority, issueLeafCertificate, loadCertificateAuthority } from './x509.ts';

const dir = mkdtempSync(join(tmpdir(), 'nc-x509-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8' });
}

describe('x509 builder', () => {
  const ca = createCertificateAuthority('unit');
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const leaf = issueLeafCertificate(ca, key, 'api.example.test');
  const ipLeaf = issueLeafCertificate(ca, key, '127.0.0.1');
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  writeFileSync(join(dir, 'leaf.pem'), leaf.certPem);
  writeFileSync(join(dir, 'ip.pem'), ipLeaf.certPem);

  it('openssl parses the CA and sees a v3 CA with keyCertSign', () => {
    const text = openssl(['x509', '-in', join(dir, 'ca.pem'), '-noout', '-text']);
    expect(text).toContain('Version: 3 (0x2)');
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
    expect(text).toMatch(/CA:TRUE, pathlen:0/);
    expect(text).toContain('Certificate Sign, CRL Sign');
    expect(text).toContain('NIST CURVE: P-256');
  });

  it('openssl parses the leaf, sees SANs and EKU, and verifies the chain', () => {
    const text = openssl(['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-text']);
    expect(text).toContain('DNS:api.example.test');
    expect(text).toContain('TLS Web Server Authentication');
    expect(text).toContain('CA:FALSE');
    expect(openssl(['x509', '-in', join(dir, 'ip.pem'), '-noout', '-text'])).toContain('IP Address:127.0.0.1');
    expect(openssl(['verify', '-CAfile', join(dir, 'ca.pem'), '-purpose', 'sslserver', join(dir, 'leaf.pem'), join(dir, 'ip.pem')])).toMatch(/leaf.pem: OK[\s\S]*ip.pem: OK/);
  });

  it('node:crypto verifies signature, host and IP', () => {
    const c = new X509Certificate(leaf.certPem);
    expect(c.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(c.checkHost('api.example.test')).toBe('api.example.test');
    expect(c.checkHost('other.test')).toBeUndefined();
    expect(new X509Certificate(ipLeaf.certPem).checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('a stored CA reloads and keeps issuing verifiable leaves', () => {
    const again = loadCertificateAuthority(ca.certPem, ca.keyPem);
    const l2 = issueLeafCertificate(again, key, 'x.test');
    expect(new X509Certificate(l2.certPem).verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    const other = createCertificateAuthority('other');
    expect(() => loadCertificateAuthority(ca.certPem, other.keyPem)).toThrow();
  });

  it('node tls accepts a leaf from the cache in a real handshake, and rejects a wrong name', async () => {
    const { ca: stored, certPath } = loadOrCreateCa(join(dir, 'ca-store'), 'tls');
    expect(loadOrCreateCa(join(dir, 'ca-store'), 'tls').ca.certPem).toBe(stored.certPem);
    expect(caEnvironment(certPath)).toEqual({ SSL_CERT_FILE: certPath, NODE_EXTRA_CA_CERTS: certPath, REQUESTS_CA_BUNDLE: certPath, CURL_CA_BUNDLE: certPath, GIT_SSL_CAINFO: certPath });
    const cache = new LeafCache(stored);
    const server = createServer({ SNICallback: (name, cb) => cb(null, cache.context(name)) }, (_req, res) => res.end('hi'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const handshake = (servername: string, checkName: string) =>
      new Promise<string>((resolve) => {
        const s = connect({ host: '127.0.0.1', port, servername, ca: [stored.certPem], checkServerIdentity: (_h, cert) => (new X509Certificate(cert.raw).checkHost(checkName) ? undefined : new Error('name mismatch')) });
        s.on('secureConnect', () => {
          resolve(s.authorized ? 'ok' : String(s.authorizationError));
          s.destroy();
        });
        s.on('error', (e) => resolve(e.message));
      });
    try {
      expect(await handshake('svc.test', 'svc.test')).toBe('ok');
      expect(await handshake('svc.test', 'evil.test')).toBe('name mismatch');
      expect(cache.size).toBe(1);
      cache.context('svc.test');
      expect(cache.size).toBe(1);
    } finally {
      server.close();
    }
  });
});
