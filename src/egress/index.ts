// The egress component's only public door: the per-sandbox proxy, the CA environment for the
// sandbox, and the pieces other components and tests may use (address classification, the
// request-head parser, the certificate builder).
import { SANDBOX_OWN_LOOPBACK } from './types.ts';
export { startEgressProxy, INFERENCE_HOST } from './proxy.ts';
export { egressAuditRecord } from './audit-record.ts';
export type {
  EgressProxy,
  EgressProxyOptions,
  SuggestedRule,
  EgressEvent,
  EgressEventType,
  CallerIdentity,
  AuditSink,
  InferenceRouter,
  InferenceRequest,
  InferenceResponse,
} from './types.ts';
export { caEnvironment, loadOrCreateCa, writeTrustBundle, CA_CERT_FILE, CA_KEY_FILE, CA_BUNDLE_FILE } from './ca.ts';
export { classifyAddress, checkAddress, parseIp, formatIp, parseCidr, addressAllowed } from './address.ts';
export type { AddressClass, AddressCheck } from './address.ts';
export { parseRequestHead, parseAuthority, parseAbsoluteTarget, ChunkedDecoder, MAX_CHUNK_BYTES } from './http1.ts';
export { planUpstreamRequest, METHOD_OVERRIDE } from './upstream-request.ts';
export type { UpstreamPlan, UpstreamPlanResult } from './upstream-request.ts';
export { websocketAccept } from './forward.ts';
export { policyFileRule } from './refusal.ts';
export type { RequestHead, ParseResult } from './http1.ts';
export { createCertificateAuthority, issueLeafCertificate, buildCertificate, toPem } from './x509.ts';
export type { CertificateAuthority } from './x509.ts';

export { SANDBOX_OWN_LOOPBACK } from './types.ts';

/** Environment for a sandboxed workload whose proxy relay listens on 127.0.0.1:3128. */
export function proxyEnvironment(caCertPath: string, port = 3128): Record<string, string> {
  const url = `http://127.0.0.1:${port}`;
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    ALL_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    all_proxy: url,
    // One loopback rule in every mode (docs/egress.md "Loopback"): the sandbox's own loopback is a
    // private network namespace, so its servers are its own and bypass the proxy; the host's
    // loopback services are reached only as host.nemoclaw.internal, through the proxy, under a
    // rule naming that name. `sandbox run` uses the same constant (src/sandbox/argv.ts).
    NO_PROXY: SANDBOX_OWN_LOOPBACK,
    no_proxy: SANDBOX_OWN_LOOPBACK,
    NODE_USE_ENV_PROXY: '1',
    SSL_CERT_FILE: caCertPath,
    NODE_EXTRA_CA_CERTS: caCertPath,
    REQUESTS_CA_BUNDLE: caCertPath,
    CURL_CA_BUNDLE: caCertPath,
    GIT_SSL_CAINFO: caCertPath,
  };
}
