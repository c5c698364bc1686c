// `nemoclaw completion bash|zsh`: prints a completion script. Sandbox names are completed from
// the directories under $NEMOCLAW_HOME/sandboxes (no supervisor needed, nothing executed).
import type { Command } from 'commander';
import type { CommandTable } from './commands.ts';
import { UsageError, exitQuietlyOnEpipe, stdout } from './output.ts';

export function bashCompletion({ commands, sandboxVerbs }: CommandTable): string {
  const verbs = commands.map((c) => c.name).join(' ');
  return `# nemoclaw bash completion: eval "$(nemoclaw completion bash)"
_nemoclaw_sandboxes() {
  local home="\${NEMOCLAW_HOME:-$HOME/.nemoclaw}"
  [ -d "$home/sandboxes" ] && ls -1 "$home/sandboxes" 2>/dev/null | grep -v '^\\.'
}
_nemoclaw() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${verbs} $(_nemoclaw_sandboxes)" -- "$cur") )
  elif [ "$COMP_CWORD" -eq 2 ]; then
    case " ${verbs} " in
      *" \${COMP_WORDS[1]} "*) COMPREPLY=() ;;
      *) COMPREPLY=( $(compgen -W "${sandboxVerbs.join(' ')}" -- "$cur") ) ;;
    esac
  fi
}
complete -o default -F _nemoclaw nemoclaw
`;
}

export function zshCompletion({ commands, sandboxVerbs }: CommandTable): string {
  const verbs = commands.map((c) => `'${c.name}:${c.summary.replaceAll("'", '').replaceAll(':', ' -')}'`).join(' ');
  return `#compdef nemoclaw
# nemoclaw zsh completion: eval "$(nemoclaw completion zsh)"  (or save as _nemoclaw on $fpath)
_nemoclaw() {
  local home="\${NEMOCLAW_HOME:-$HOME/.nemoclaw}"
  local -a verbs sandboxes
  verbs=(${verbs})
  sandboxes=(\${(f)"$(ls -1 "$home/sandboxes" 2>/dev/null | grep -v '^\\.')"})
  if (( CURRENT == 2 )); then
    _describe 'command' verbs
    (( \${#sandboxes} )) && compadd -- \${sandboxes}
  elif (( CURRENT == 3 )) && (( \${sandboxes[(Ie)\${words[2]}]} )); then
    compadd -- ${sandboxVerbs.join(' ')}
  else
    _files
  fi
}
compdef _nemoclaw nemoclaw
`;
}

export function register(program: Command, table: CommandTable): void {
  program
    .command('completion <shell>')
    .description('print a completion script: eval "$(nemoclaw completion bash)" (bash or zsh)')
    .action((shell: string) => {
      // A listing: `| head` ends it quietly with status 0 (output.ts).
      exitQuietlyOnEpipe();
      if (shell === 'bash') stdout.write(bashCompletion(table));
      else if (shell === 'zsh') stdout.write(zshCompletion(table));
      else throw new UsageError(`completion: bash or zsh, not ${shell}`);
    });
}
