// A standalone audit writer for the crash and multi-process tests, run with the project's Node 24
// (type stripping), not through bin/nemoclaw. Prints "<seq> <tag>" for every acknowledged record.
// argv: home tag count(0 = until killed) durable(0|1)
import { openAuditLog } from '../../src/audit/index.ts';

const [home, tag, countArg, durableArg] = process.argv.slice(2);
if (home === undefined || tag === undefined) throw new Error('usage: writer-child.ts HOME TAG [COUNT] [DURABLE]');
const count = Number(countArg ?? '0');
const durable = durableArg === '1';
const log = await openAuditLog({ home, heartbeatMs: 0 });
process.stdout.write(`open ${process.pid}\n`);
let n = 0;
// Bounded even when nobody kills us: at most 200,000 records.
const limit = count > 0 ? count : 200_000;
while (n < limit) {
  const batch: Promise<void>[] = [];
  for (let j = 0; j < 64 && n < limit; j++, n++) {
    const t = `${tag}-${n}`;
    batch.push(
      log.append({ kind: 'exec.denied', activity: 'exec', sandbox: tag, target: t, decision: 'deny', count: 1 }, { durable }).then(({ seq }) => {
        process.stdout.write(`${seq} ${t}\n`);
      }),
    );
  }
  await Promise.all(batch);
}
await log.close();
process.stdout.write('closed\n');
