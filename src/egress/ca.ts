// The per-sandbox inspection CA on disk and the leaf-certificate cache. The CA certificate file
// is what the sandbox trusts (SSL_CERT_FILE and friends); the key file stays outside the sandbox
// (mode 0600 in a 0700 directory) and is never bound into it.

import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, getCACertificates, rootCertificates } from 'node:tls';
import type { SecureContext } from 'node:tls';
import { writeFileAtomic } from '../state/index.ts';
import { createCertificateAuthority, issueLeafCertificate, loadCertificateAuthority } from './x509.ts';
import type { CertificateAuthority } from './x509.ts';

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';
export const CA_BUNDLE_FILE = 'bundle.pem';

/**
 * Writes the trust bundle a sandbox uses: the inspection CA plus the system roots (SSL_CERT_FILE
 * replaces a TLS stack's default trust, and endpoints that are byte relays still present their
 * real certificates) plus any extra CAs. Rewritten atomically; mode 0644.
 */
export function writeTrustBundle(dir: string, caPem: string, extra: readonly string[] = []): string {
  const path = join(dir, CA_BUNDLE_FILE);
  let system: string[];
  try {
    system = getCACertificates('system');
  } catch {
    system = [];
  }
  if (system.length === 0) system = [...rootCertificates];
  const text = [caPem, ...extra, ...system].map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
  writeFileAtomic(path, text, 0o644);
  return path;
}

/**
 * Loads the CA in `dir` or creates one there. The directory is 0711 (traversable, not listable) so
 * that the sandbox helper can bind the certificate file (0644) read-only; the key is 0600 and is
 * never bound into a sandbox.
 */
export function loadOrCreateCa(dir: string, label: string): { ca: CertificateAuthority; certPath: string } {
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  chmodSync(dir, 0o711);
  const certPath = join(dir, CA_CERT_FILE);
  const keyPath = join(dir, CA_KEY_FILE);
  if (existsSync(certPath) && existsSync(keyPath)) {
    return { ca: loadCertificateAuthority(readFileSync(certPath, 'utf8'), readFileSync(keyPath, 'utf8')), certPath };
  }
  const ca = createCertificateAuthority(label);
  // Key first: a crash between the two leaves no certificate, so the next start makes a new pair
  // instead of loading a certificate whose key was never written.
  writeFileAtomic(keyPath, ca.keyPem, 0o600);
  writeFileAtomic(certPath, ca.certPem, 0o644);
  return { ca, certPath };
}

/** The environment that makes common TLS stacks inside the sandbox trust the inspection CA. */
export function caEnvironment(caCertPath: string): Record<string, string> {
  return {
    SSL_CERT_FILE: caCertPath,
    NODE_EXTRA_CA_CERTS: caCertPath,
    REQUESTS_CA_BUNDLE: caCertPath,
    CURL_CA_BUNDLE: caCertPath,
    GIT_SSL_CAINFO: caCertPath,
  };
}

/** Leaf certificates per host, one shared leaf key, LRU-capped. */
export class LeafCache {
  private readonly ca: CertificateAuthority;
  private readonly leafKey: KeyObject;
  private readonly leafKeyPem: string;
  private readonly cache = new Map<string, { ctx: SecureContext; notAfter: number }>();
  private readonly max: number;

  constructor(ca: CertificateAuthority, max = 256) {
    this.ca = ca;
    this.max = max;
    this.leafKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    this.leafKeyPem = this.leafKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  }

  get size(): number {
    return this.cache.size;
  }

  /** Secure context presenting a certificate for `host` (canonical name or IP literal). */
  context(host: string): SecureContext {
    const now = Date.now();
    const hit = this.cache.get(host);
    if (hit && hit.notAfter - now > 86400_000) {
      this.cache.delete(host);
      this.cache.set(host, hit);
      return hit.ctx;
    }
    const leaf = issueLeafCertificate(this.ca, this.leafKey, host);
    const ctx = createSecureContext({ key: this.leafKeyPem, cert: leaf.certPem + this.ca.certPem, minVersion: 'TLSv1.2' });
    this.cache.set(host, { ctx, notAfter: leaf.notAfter.getTime() });
    if (this.cache.size > this.max) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    return ctx;
  }
}
