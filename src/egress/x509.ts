// A small DER/ASN.1 X.509 v3 certificate builder for the per-sandbox TLS-inspection CA.
// node:crypto makes EC keys and signatures but not certificates; this file writes the few
// structures we need (RFC 5280): a CA certificate and leaf certificates for server names.
// Signature: ecdsa-with-SHA256 over P-256 keys.

import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { parseIp } from './address.ts';

// ---- DER primitives ----

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.of(tag), len(content.length), content]);
}

const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const octets = (b: Buffer) => tlv(0x04, b);
const bitString = (b: Buffer) => tlv(0x03, Buffer.concat([Buffer.of(0), b]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const ia5 = (s: string, tag = 0x16) => tlv(tag, Buffer.from(s, 'ascii'));
const bool = (v: boolean) => tlv(0x01, Buffer.of(v ? 0xff : 0));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner);

function integer(value: Buffer | number): Buffer {
  let b = typeof value === 'number' ? Buffer.of(value) : value;
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && ((b[i + 1] ?? 0) & 0x80) === 0) i++;
  b = b.subarray(i);
  if (((b[0] ?? 0) & 0x80) !== 0) b = Buffer.concat([Buffer.of(0), b]);
  return tlv(0x02, b);
}

function oid(text: string): Buffer {
  const parts = text.split('.').map(Number);
  const first = parts[0] ?? 0;
  const second = parts[1] ?? 0;
  const bytes: number[] = [first * 40 + second];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    let v = Math.floor(p / 128);
    while (v > 0) {
      chunk.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function time(d: Date): Buffer {
  const y = d.getUTCFullYear();
  const p2 = (n: number) => String(n).padStart(2, '0');
  const rest = `${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return ia5(`${p2(y % 100)}${rest}`, 0x17); // UTCTime
  return ia5(`${y}${rest}`, 0x18); // GeneralizedTime
}

// ---- OIDs ----
const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

function name(cn: string, org?: string): Buffer {
  const rdns = [];
  if (org) rdns.push(set(seq(oid(OID.organization), utf8(org))));
  rdns.push(set(seq(oid(OID.commonName), utf8(cn))));
  return seq(...rdns);
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

function spkiDer(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ format: 'der', type: 'spki' });
}

/** SHA-1 of the subjectPublicKey BIT STRING contents (RFC 5280 4.2.1.2 method 1). */
function keyId(spki: Buffer): Buffer {
  // For P-256 SPKI the public key bit string is the last 65 bytes.
  return createHash('sha1').update(spki.subarray(spki.length - 65)).digest();
}

function keyUsageBits(bits: number[]): Buffer {
  // KeyUsage BIT STRING: bit 0 is the MSB of the first byte.
  let v = 0;
  for (const b of bits) v |= 0x80 >> b;
  const used = Math.max(...bits) + 1;
  return tlv(0x03, Buffer.of(8 - used, v));
}

export interface CertOptions {
  subjectCN: string;
  subjectOrg?: string;
  subjectKey: KeyObject; // public or private
  issuerCN: string;
  issuerOrg?: string;
  issuerKey: KeyObject; // private, signs
  issuerKeyId?: Buffer;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
  /** DNS names and IP literals for subjectAltName (leaf only). */
  altNames?: string[];
}

/** Builds and signs one certificate; returns DER. */
export function buildCertificate(o: CertOptions): Buffer {
  const algId = seq(oid(OID.ecdsaWithSha256));
  const spki = spkiDer(o.subjectKey);
  const ski = keyId(spki);
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  const exts: Buffer[] = [];
  if (o.ca) {
    exts.push(extension(OID.basicConstraints, true, seq(bool(true), integer(0))));
    exts.push(extension(OID.keyUsage, true, keyUsageBits([5, 6]))); // keyCertSign, cRLSign
  } else {
    exts.push(extension(OID.basicConstraints, true, seq()));
    exts.push(extension(OID.keyUsage, true, keyUsageBits([0]))); // digitalSignature
    exts.push(extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))));
    const names = (o.altNames ?? []).map((n) => {
      const ip = parseIp(n);
      return ip ? tlv(0x87, Buffer.from(ip)) : ia5(n, 0x82);
    });
    if (names.length > 0) exts.push(extension(OID.subjectAltName, false, seq(...names)));
  }
  exts.push(extension(OID.subjectKeyId, false, octets(ski)));
  if (o.issuerKeyId) exts.push(extension(OID.authorityKeyId, false, seq(tlv(0x80, o.issuerKeyId))));

  const tbs = seq(
    explicit(0, integer(2)),
    integer(serial),
    algId,
    name(o.issuerCN, o.issuerOrg),
    seq(time(o.notBefore), time(o.notAfter)),
    name(o.subjectCN, o.subjectOrg),
    spki,
    explicit(3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, { key: o.issuerKey, dsaEncoding: 'der' });
  return seq(tbs, algId, bitString(signature));
}

export function toPem(der: Buffer, label = 'CERTIFICATE'): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  key: KeyObject;
  keyId: Buffer;
  cn: string;
}

const ORG = 'nemoclaw egress inspection';

/** Generates a fresh EC P-256 CA (valid 10 years). */
export function createCertificateAuthority(label: string, now = new Date()): CertificateAuthority {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cn = `nemoclaw sandbox CA ${label}`.slice(0, 64);
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + 10 * 365 * 86400_000);
  const der = buildCertificate({
    subjectCN: cn,
    subjectOrg: ORG,
    subjectKey: privateKey,
    issuerCN: cn,
    issuerOrg: ORG,
    issuerKey: privateKey,
    notBefore,
    notAfter,
    ca: true,
  });
  return {
    certPem: toPem(der),
    keyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    key: privateKey,
    keyId: keyId(spkiDer(privateKey)),
    cn,
  };
}

/** Rebuilds a CA from its stored PEM files. */
export function loadCertificateAuthority(certPem: string, keyPem: string): CertificateAuthority {
  const key = createPrivateKey(keyPem);
  const cert = new X509Certificate(certPem);
  if (!cert.ca || !cert.checkPrivateKey(key)) throw new Error('stored CA certificate does not match its key');
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  if (!cn) throw new Error('stored CA certificate has no CN');
  return { certPem, keyPem, key, keyId: keyId(spkiDer(key)), cn };
}

export interface LeafCertificate {
  certPem: string;
  notAfter: Date;
}

/** Issues a leaf certificate for one server name (DNS name or IP literal), valid ~30 days. */
export function issueLeafCertificate(ca: CertificateAuthority, leafKey: KeyObject, host: string, now = new Date()): LeafCertificate {
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + 30 * 86400_000);
  const der = buildCertificate({
    subjectCN: host.slice(0, 64),
    subjectKey: leafKey,
    issuerCN: ca.cn,
    issuerOrg: ORG,
    issuerKey: ca.key,
    issuerKeyId: ca.keyId,
    notBefore,
    notAfter,
    ca: false,
    altNames: [host],
  });
  return { certPem: toPem(der), notAfter };
}
