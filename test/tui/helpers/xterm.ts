// A fake TTY (stdout + stdin) backed by @xterm/headless, so a full-screen Ink app can be rendered
// in-process at a real terminal size and the emulated screen inspected cell by cell.
import { EventEmitter } from 'node:events';
import xterm from '@xterm/headless';

const { Terminal } = xterm;
type Term = InstanceType<typeof Terminal>;

export class XtermStdout extends EventEmitter {
  readonly isTTY = true;
  readonly term: Term;
  /** Everything written, for checking control sequences (alternate screen enter/leave). */
  raw = '';
  constructor(cols: number, rows: number, opts: { convertEol?: boolean } = {}) {
    super();
    // convertEol: without a PTY nothing turns "\n" into "\r\n" (a real PTY does it: pass false).
    this.term = new Terminal({ cols, rows, allowProposedApi: true, convertEol: opts.convertEol ?? true, scrollback: 0 });
  }
  get columns(): number {
    return this.term.cols;
  }
  get rows(): number {
    return this.term.rows;
  }
  write(data: string | Uint8Array, cb?: () => void): boolean {
    const s = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
    this.raw += s;
    this.term.write(s, cb);
    return true;
  }
  getColorDepth(): number {
    return 8;
  }
  hasColors(): boolean {
    return true;
  }
  resize(cols: number, rows: number): void {
    this.term.resize(cols, rows);
    this.emit('resize');
  }
  /** Let xterm finish parsing what was written. */
  flush(): Promise<void> {
    return new Promise((r) => this.term.write('', r));
  }
  lines(): string[] {
    const b = this.term.buffer.active;
    const out: string[] = [];
    for (let i = 0; i < this.term.rows; i++) out.push(b.getLine(b.viewportY + i)?.translateToString(true) ?? '');
    return out;
  }
  /** Rows the terminal wrapped: a line of output longer than the screen is wide. */
  wrappedRows(): number[] {
    const b = this.term.buffer.active;
    const out: number[] = [];
    for (let i = 0; i < b.length; i++) if (b.getLine(i)?.isWrapped === true) out.push(i);
    return out;
  }
  text(): string {
    return this.lines().join('\n');
  }
  get bufferType(): string {
    return this.term.buffer.active.type;
  }
  dispose(): void {
    this.term.dispose();
  }
}

export class FakeStdin extends EventEmitter {
  readonly isTTY = true;
  #queue: string[] = [];
  write(data: string): void {
    this.#queue.push(data);
    this.emit('readable');
  }
  read(): string | null {
    return this.#queue.shift() ?? null;
  }
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}
