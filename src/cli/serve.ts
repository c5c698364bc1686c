// `nemoclaw serve [--headless]`: the supervisor for this NEMOCLAW_HOME, until SIGINT/SIGTERM.
// --headless: events as NDJSON on stdout, decisions as NDJSON on stdin (src/headless).
import type { Command } from 'commander';
import { svExit } from './supervisor-client.ts';

interface ServeFlags {
  headless?: boolean;
  approvalTimeout?: string;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the supervisor (sandboxes, control API on $NEMOCLAW_HOME/run/api.sock); one per NEMOCLAW_HOME')
    .option('--headless', 'print events as NDJSON on stdout; read decisions ({"approve":"<id>","always":true} / {"deny":"<id>"}) on stdin')
    .option('--approval-timeout <seconds>', 'deny an unanswered approval after this long', '60')
    .action(async (flags: ServeFlags) => {
      const { startSupervisor, SupervisorRunningError } = await import('../supervisor/index.ts');
      const timeout = Number(flags.approvalTimeout);
      let sup;
      try {
        sup = await startSupervisor({ approvalTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout * 1000 : undefined });
      } catch (err) {
        if (err instanceof SupervisorRunningError) {
          process.stderr.write(`nemoclaw: ${err.message}; use it (nemoclaw list) or stop it first\n`);
          process.exitCode = svExit.conflict;
          return;
        }
        throw err;
      }
      process.stderr.write(`nemoclaw: supervisor ${process.pid} serving ${sup.apiSocket} (${sup.lifecycle.names().length} sandboxes)\n`);
      let headless: { close(): void; inputClosed: Promise<void> } | null = null;
      if (flags.headless) {
        const { runHeadless } = await import('../headless/index.ts');
        headless = runHeadless({ bus: sup.bus, approvals: sup.approvals, chat: sup.chat });
      }
      await new Promise<void>((resolve) => {
        const stop = (sig: string): void => {
          process.stderr.write(`nemoclaw: ${sig}: stopping sandboxes\n`);
          resolve();
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGHUP', () => stop('SIGHUP'));
      });
      headless?.close();
      await sup.close('signal');
      process.exitCode = svExit.ok;
    });
}
