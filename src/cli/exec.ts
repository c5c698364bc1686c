// `nemoclaw NAME exec [--tty] -- CMD...` and `nemoclaw NAME connect`: a command run in the
// running sandbox through the supervisor's exec session (src/supervisor/exec.ts frames), its
// output, its exit status. What scripts and the headless mode run in a loop, so main.ts's fast
// path (commands.ts FAST_VERBS) loads this file without commander, and it loads only the
// supervisor's light door (client.ts), not the supervisor (issue 23).
import { FrameParser, frame, parseExit, resizeFrame } from '../supervisor/client.ts';
import { exitQuietlyOnEpipe, showOn, stderr, stdinAtEnd, stdout } from './output.ts';
import { client, runVerb, svExit } from './supervisor-client.ts';

const SIGPIPE_STATUS = 128 + 13;

/** `NAME exec` as its commander action runs it; exported for the fast path, which passes the same flags. */
export async function sandboxExec(name: string, command: string[], flags: { tty?: boolean }): Promise<void> {
  await runVerb({}, () => attach(name, command, flags.tty === true));
}

/** Runs argv in the sandbox through the supervisor; resolves with its exit status. */
export async function attach(name: string, argv: string[], tty: boolean): Promise<number> {
  // `nemoclaw NAME exec -- CMD | head -1`: once the reader is gone, nemoclaw exits quietly with
  // 141 (128 + SIGPIPE), what the shell gives a local command cut off so; its leaving hangs up
  // the session, and the exec server SIGKILLs the command's process group (native/PROTOCOL.md).
  exitQuietlyOnEpipe(SIGPIPE_STATUS);
  const c = await client();
  // Only a terminal session reads the terminal's size (and so builds process.stdout); without
  // --tty the sandbox's side is no terminal and the size is never used.
  const out = tty ? process.stdout : null;
  const { socket, head } = await c.exec(name, {
    argv,
    tty,
    cols: out?.columns ?? 80,
    rows: out?.rows ?? 24,
    env: tty ? { TERM: process.env.TERM ?? 'xterm-256color' } : {},
  });
  // Standard input that can only be at its end is said so at once (output.ts; issue 23).
  const stdin = stdinAtEnd() ? null : process.stdin;
  const raw = tty && stdin?.isTTY === true;
  if (raw) stdin?.setRawMode(true);
  let status: number | null = null;
  // The workload's bytes as they are, to fd 1 and 2 (output.ts writes them synchronously, as
  // process.stdout would on Linux, without building it when nothing else needs it).
  const parser = new FrameParser((f) => {
    if (f.type === 'o') stdout.write(f.payload);
    else if (f.type === 'r') stderr.write(f.payload);
    else if (f.type === 'x') {
      const e = parseExit(f.payload);
      status = e.code ?? 128 + (e.signal ?? 0);
    } else if (f.type === 'f') {
      stderr.write(`nemoclaw: exec failed in the sandbox: ${showOn(stderr)(f.payload.toString('utf8'))}\n`);
      status = 125;
    }
  });
  const onData = (chunk: Buffer): void => {
    socket.write(frame('i', chunk));
  };
  const onEnd = (): void => {
    socket.write(frame('e'));
  };
  const onResize = (): void => {
    socket.write(resizeFrame(out?.columns ?? 80, out?.rows ?? 24));
  };
  const forward = (sig: NodeJS.Signals): void => {
    socket.write(frame('k', Buffer.from([sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1])));
  };
  if (stdin === null) onEnd();
  stdin?.on('data', onData);
  stdin?.on('end', onEnd);
  out?.on('resize', onResize);
  const sigs: NodeJS.Signals[] = raw ? [] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of sigs) process.on(s, forward);
  if (head.length > 0) parser.push(head);
  const closed = new Promise<void>((done) => {
    socket.on('close', () => done());
    socket.on('error', () => done());
  });
  socket.on('data', (chunk: Buffer) => parser.push(chunk));
  // c.exec hands the session over paused, so that nothing is read before the parser is there.
  socket.resume();
  await closed;
  stdin?.off('data', onData);
  stdin?.off('end', onEnd);
  out?.off('resize', onResize);
  for (const s of sigs) process.off(s, forward);
  if (raw) stdin?.setRawMode(false);
  stdin?.pause();
  stdin?.unref?.();
  return status ?? svExit.failure;
}

