// The floor under `nemoclaw sandbox run -- true` (bench/cli.ts prints it beside that verb): the
// least any Node CLI must do to run one command in the same sandbox, with none of nemoclaw's code.
// Plain JavaScript, so Node strips no types on the way.
//   node bench/floor-run.mjs ARGV_JSON                 spawn the helper with the argv in
//       ARGV_JSON (the CLI's own: events and control channels, --await-verdict), answer its ready
//       report with go, exit with its status
//   node bench/floor-run.mjs ARGV_JSON KEY_PEM LOG     the same, and meanwhile (one event-loop
//       turn after the spawn, as the CLI's audit) what the audit's invariants cost per run at
//       the least: load node:crypto and the Ed25519 signing key, chain three records with
//       SHA-256, sign their root, append it all to LOG and fdatasync it
import { spawn } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, readFileSync, writeSync } from 'node:fs';

const [argvFile, keyFile, logFile] = process.argv.slice(2);
if (argvFile === undefined) throw new Error('usage: floor-run.mjs ARGV_JSON [KEY_PEM LOG]');
const [helper, ...args] = JSON.parse(readFileSync(argvFile, 'utf8'));
const child = spawn(helper, args, { stdio: ['inherit', 'inherit', 'inherit', 'pipe', 'pipe'], cwd: '/', env: {} });
let events = '';
let sent = false;
child.stdio[3].on('data', (d) => {
  events += d;
  if (!sent && events.includes('"type":"ready"')) {
    sent = true;
    child.stdio[4].write('{"verdict":"go"}\n');
  }
});
child.stdio[4].on('error', () => {});

function audit() {
  const { createHash, createPrivateKey, sign } = process.getBuiltinModule('node:crypto');
  const key = createPrivateKey(readFileSync(keyFile));
  let prev = '0'.repeat(64);
  let lines = '';
  for (const activity of ['start', 'report', 'exit']) {
    const line = JSON.stringify({ ts: new Date().toISOString(), prev, kind: 'sandbox.lifecycle', activity });
    prev = createHash('sha256').update(line).digest('hex');
    lines += `${line}\n`;
  }
  const sig = sign(null, Buffer.from(prev), key).toString('base64');
  const fd = openSync(logFile, 'a', 0o600);
  try {
    writeSync(fd, `${lines}${JSON.stringify({ root: prev, sig })}\n`);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const audited = keyFile !== undefined && logFile !== undefined ? new Promise((r) => setImmediate(r)).then(audit) : Promise.resolve();
child.on('exit', (code, signal) => {
  audited.then(
    () => (process.exitCode = signal !== null ? 128 : (code ?? 1)),
    (err) => {
      process.stderr.write(`floor-run: ${err.message}\n`);
      process.exitCode = 1;
    },
  );
});
