// Live OTLP export from a running writer to a receiver on 127.0.0.1.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createOtlpExporter, openAuditLog, verifyAudit } from '../../src/audit/index.ts';
import { parseCheckpoint } from '../../src/audit/checkpoint.ts';
import { fill, readLines, removeHome, segPath, tempHome } from './helpers.ts';

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) removeHome(h);
});

interface Rec {
  body: { stringValue: string };
  attributes: { key: string; value: { stringValue?: string } }[];
}

describe('createOtlpExporter', () => {
  it('streams every record and checkpoint; an exported checkpoint serves as a trusted anchor', async () => {
    const received: Rec[] = [];
    let fail = 1; // the first post is refused: the exporter must retry, not lose records
    const server = createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => {
        data += c.toString();
      });
      req.on('end', () => {
        if (fail > 0) {
          fail -= 1;
          res.writeHead(503).end();
          return;
        }
        const p = JSON.parse(data) as { resourceLogs: { scopeLogs: { logRecords: Rec[] }[] }[] };
        for (const rl of p.resourceLogs) for (const sl of rl.scopeLogs) received.push(...sl.logRecords);
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const home = tempHome();
    homes.push(home);
    const errors: string[] = [];
    const exp = createOtlpExporter({ endpoint, intervalMs: 20, onError: (e) => errors.push(e.message) });
    try {
      const w = await openAuditLog({ home, heartbeatMs: 0, onRecords: exp.records, onCheckpoint: exp.checkpoint });
      await fill(w, 250);
      await w.close();
      await exp.flush();
      await exp.close();
    } finally {
      server.close();
    }
    expect(errors.length).toBeGreaterThanOrEqual(1);
    const name = (r: Rec): string | undefined => r.attributes.find((a) => a.key === 'event.name')?.value.stringValue;
    const lines = received.filter((r) => name(r) === 'nemoclaw.audit.record').map((r) => r.body.stringValue);
    expect(lines).toEqual(readLines(segPath(home, 1)));
    const cps = received.filter((r) => name(r) === 'nemoclaw.audit.checkpoint').map((r) => parseCheckpoint(JSON.parse(r.body.stringValue)));
    const last = cps[cps.length - 1];
    expect(last?.reason).toBe('shutdown');
    expect(exp.dropped).toBe(0);
    // The SIEM's copy of the last checkpoint anchors verify on this machine.
    expect((await verifyAudit({ home, trustedCheckpoint: last })).summary).toBe('ok');
  });

  it('bounds its queue when the receiver is unreachable', async () => {
    const exp = createOtlpExporter({ endpoint: 'http://127.0.0.1:9/', intervalMs: 60_000, maxQueue: 10, onError: () => undefined });
    const line = '{"v":1,"seq":1,"ts":"2026-11-22T00:00:00.000Z","prev":"' + '0'.repeat(64) + '","event":{"class_uid":6002,"class_name":"Application Lifecycle","category_uid":6,"kind":"audit.note","activity":"note","severity_id":1}}';
    exp.records(Array.from({ length: 25 }, () => line));
    expect(exp.dropped).toBe(15);
    await exp.close();
  });
});
