import type { Command } from 'commander';
export function register(program: Command): void {
  program.command('demo').description('show an allowed and a denied action in real sandboxes');
}
