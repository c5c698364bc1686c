// The CLI's yes/no question on the terminal (destroy, policy learn --apply): default no, asked on
// stderr so stdout stays the command's output.

export async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
