// `nemoclaw approvals list | approve ID [--always] | deny ID [--always]`: talks to the approval
// queue's control API (src/approvals/control.ts) on $NEMOCLAW_HOME/run/approvals.sock, served by
// whoever owns the queue (`nemoclaw serve` / the TUI). Without one it says so and exits 1.
import type { Command } from 'commander';
import type { ApprovalDecisionInput, ApprovalItem, ApprovalResult } from '../approvals/index.ts';
// The light doors: the queue's code and node:http are not what `approvals list|approve|deny` need (issue 23).
import { currentDecider } from '../approvals/client.ts';
import { ApprovalsUnavailableError, noQueueError } from '../approvals/types.ts';
import { homePaths } from '../state/index.ts';
import { ApiClient, ApiError, SupervisorUnavailableError } from '../supervisor/client.ts';
import { exitCodes, exitQuietlyOnEpipe, printJson, showOn, stderr, stdout } from './output.ts';

interface Flags {
  socket?: string;
  json?: boolean;
  always?: boolean;
}

/** An approval's id as the queue makes them (control.ts routes only these). */
const ID = /^[0-9a-f]{1,32}$/;

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s}s` : `${Math.round(s / 60)}m`;
}

/** A tool call on one line: the tool, its arguments cut to 200 characters, the agent's reason and session. */
function toolText(i: ApprovalItem, show: (s: string) => string): string {
  const t = i.tool;
  if (t === undefined) return 'tool ?';
  const args = t.args.length > 200 ? `${t.args.slice(0, 200)}…` : t.args;
  return `tool ${show(t.name)} ${show(args)}${t.reason ? ` reason: ${show(t.reason.slice(0, 120))}` : ''}${t.session ? ` session ${show(t.session)}` : ''}`;
}

async function run(fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (err) {
    if (err instanceof ApprovalsUnavailableError) {
      stderr.write(`nemoclaw: ${showOn(stderr)(err.message)}\n`);
      process.exitCode = exitCodes.failure;
      return;
    }
    throw err;
  }
}

/** Throws when there is no socket to ask: no queue is served, said as the queue's client says it, without loading it. */
function queueServed(path: string): void {
  if (!process.getBuiltinModule('node:fs').existsSync(path)) throw noQueueError(path);
}

/** The pending items: a GET on the light transport first, the queue's client when it fails. */
async function pendingItems(socket: string | undefined): Promise<ApprovalItem[]> {
  const path = socket ?? homePaths().approvals;
  queueServed(path);
  try {
    const r = await new ApiClient(path).call<{ items?: ApprovalItem[] }>('GET', '/v1/approvals');
    if (Array.isArray(r.items)) return r.items;
  } catch {
    // Asked again below, by the client whose answer and errors these are.
  }
  const { approvalsClient } = await import('../approvals/index.ts');
  return approvalsClient.list(path);
}

/**
 * `nemoclaw approvals list [--socket PATH] [--json]`. The list is asked over the supervisor
 * client's light transport (src/supervisor/client.ts: no node:http, no queue code; issue 23); when
 * that gets no plain answer (no queue served, an error status, anything unexpected), the queue's
 * own client asks again and answers exactly as it always has, its errors included.
 */
export function listApprovals(flags: Flags): Promise<void> {
  // `approvals list | head` ends quietly with status 0, as every listing does (output.ts).
  exitQuietlyOnEpipe();
  return run(async () => {
    const items = await pendingItems(flags.socket);
    if (flags.json) {
      printJson(items);
      return exitCodes.ok;
    }
    if (items.length === 0) {
      stdout.write('no pending approvals\n');
      return exitCodes.ok;
    }
    const now = Date.now();
    // Host, path, method and binary are what the workload asked with: each shown as one inert
    // line on a terminal, so an ask cannot restyle the list or forge another row.
    const show = showOn(stdout);
    for (const i of items) {
      const what = i.kind === 'egress' ? `${i.method ? `${show(i.method)} ` : ''}${show(String(i.host))}:${i.port}${show(i.path ?? '')}` : i.kind === 'tool' ? toolText(i, show) : show(i.path ?? '');
      stdout.write(
        `${i.id}  ${i.kind.padEnd(6)} ${show(i.sandbox)}  ${i.binary !== null ? show(i.binary) : '(unknown binary)'} -> ${what}  x${i.count}  waiting ${age(now - i.firstSeen)}, expires in ${age(i.expiresAt - now)}\n`,
      );
    }
    return exitCodes.ok;
  });
}

/** What the control API answered a decision (src/approvals/control.ts). */
type Decided = { ok: true; result: ApprovalResult } | { ok: false; reason: string };

/**
 * POSTs one decision over the supervisor client's light transport (no node:http, no queue code;
 * issue 23). Asked once, never again: a second POST of a decision that was taken would answer
 * not_pending. No socket, or nobody listening on it: no queue is served (the queue client's words).
 */
async function postDecision(path: string, id: string, body: ApprovalDecisionInput): Promise<Decided> {
  queueServed(path);
  // Ids are the queue's hex (`approvals list`); anything else could only meet the API's bare 404.
  if (!ID.test(id)) return { ok: false, reason: `no pending approval ${id}: ids are hexadecimal, as nemoclaw approvals list shows them` };
  try {
    const r = await new ApiClient(path).call<{ result: ApprovalResult }>('POST', `/v1/approvals/${encodeURIComponent(id)}/decision`, body);
    return { ok: true, result: r.result };
  } catch (err) {
    if (err instanceof SupervisorUnavailableError) throw noQueueError(path);
    if (err instanceof ApiError) return { ok: false, reason: String(err.body.reason ?? err.body.error) };
    throw err;
  }
}

/**
 * `nemoclaw approvals approve|deny ID [--always] [--socket PATH] [--json]` as its commander action
 * runs it; exported for the fast path (commands.ts FAST_VERBS), which passes the same flags.
 */
export function decideApproval(verdict: 'allow' | 'deny', id: string, flags: Flags): Promise<void> {
  return run(async () => {
    const r = await postDecision(flags.socket ?? homePaths().approvals, id, { verdict, always: flags.always === true, by: currentDecider() });
    if (!r.ok) {
      if (flags.json) printJson({ ok: false, reason: r.reason });
      else stderr.write(`nemoclaw: ${showOn(stderr)(r.reason)}\n`);
      return exitCodes.failure;
    }
    const failed = r.result.always && r.result.persisted === false;
    if (flags.json) printJson(r.result);
    else if (failed) {
      // "allow always" that could not be written fails closed: the request was denied.
      const applied = r.result.verdict === verdict ? `${verdict} once` : `${r.result.verdict} (NOT allowed)`;
      stdout.write(`${id}: ${applied} by ${r.result.by.user} (${r.result.by.origin})\n`);
      stderr.write(`nemoclaw: "${verdict} always" failed, policy NOT written: ${showOn(stderr)(r.result.persistError ?? 'unknown error')}\n`);
    } else {
      const persisted = r.result.always ? ' (policy revision written)' : '';
      stdout.write(`${id}: ${r.result.verdict}${r.result.always ? ' always' : ' once'} by ${r.result.by.user} (${r.result.by.origin})${persisted}\n`);
    }
    return failed ? exitCodes.failure : exitCodes.ok;
  });
}

export function register(program: Command): void {
  const cmd = program.command('approvals').description('list and decide pending approvals (needs a running `nemoclaw serve`)');
  const socketOpt = (c: Command) => c.option('--socket <path>', 'control socket of the approval queue (default: $NEMOCLAW_HOME/run/approvals.sock)');

  socketOpt(cmd.command('list').description('pending approvals, oldest first'))
    .option('--json', 'print JSON')
    .action((flags: Flags) => listApprovals(flags));

  for (const verdict of ['allow', 'deny'] as const) {
    const name = verdict === 'allow' ? 'approve' : 'deny';
    socketOpt(cmd.command(`${name} <id>`).description(`${verdict} a pending request${verdict === 'allow' ? ' once' : ''}; --always records a policy rule`))
      .option('--always', `${verdict} always: writes a policy revision`)
      .option('--json', 'print JSON')
      .action((id: string, flags: Flags) => decideApproval(verdict, id, flags));
  }
}
