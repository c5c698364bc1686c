// YAML loading with positioned errors. Syntax errors come from the yaml parser; schema errors come
// from zod with a path into the data, which we map back to the node in the YAML document (its
// key for unknown keys, its value otherwise) and then to line:col with a LineCounter.
import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node, Pair } from 'yaml';
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { policySchemas, UNSUPPORTED_KEYS } from './schema.ts';
import type { Policy, Preset } from './schema.ts';

export interface Diagnostic {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  message: string;
  /** The source line the position is on (without newline). */
  snippet: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.message}`;
}

/** Renders a diagnostic as the message line, the source line and a caret under the column. */
export function renderDiagnostic(d: Diagnostic): string {
  if (d.snippet.trim() === '') return formatDiagnostic(d);
  const caret = `${' '.repeat(Math.max(0, d.col - 1))}^`;
  return `${formatDiagnostic(d)}\n  ${d.snippet}\n  ${caret}`;
}

export class PolicyError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[], options?: ErrorOptions) {
    super(diagnostics.map(formatDiagnostic).join('\n'), options);
    this.name = 'PolicyError';
    this.diagnostics = diagnostics;
  }
}

// Bounded so that a hostile file (alias bombs, gigantic documents) fails fast instead of hanging.
const MAX_BYTES = 4 * 1024 * 1024;
const MAX_ALIAS_COUNT = 100;

// The English messages classic zod installs on first use: zod/mini (schema.ts) has none of its own,
// every issue would read "Invalid input". Global, as classic's is, and the same locale. (Classic
// also installs a memoizer, for schemas that contain themselves; none of ours does.)
z.config(en());

type PathKey = string | number | symbol;

/** Finds the YAML node at a zod path; returns the deepest node found and whether it is exact. */
function nodeAt(doc: Document, path: readonly PathKey[], preferKey: boolean): { node: Node | Pair | null; exact: boolean } {
  let node: unknown = doc.contents;
  let last: Node | Pair | null = (doc.contents as Node | null) ?? null;
  for (let i = 0; i < path.length; i++) {
    const key = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) return { node: last, exact: false };
      if (i === path.length - 1 && preferKey) return { node: pair, exact: true };
      node = pair.value;
      last = (pair.value as Node | null) ?? pair;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key];
      if (item === undefined) return { node: last, exact: false };
      node = item;
      last = item as Node;
    } else return { node: last, exact: false };
  }
  return { node: last, exact: true };
}

function offsetOf(n: Node | Pair | null): number {
  if (!n) return 0;
  if (isPair(n)) {
    const k = n.key as Node | null;
    return k?.range?.[0] ?? 0;
  }
  return n.range?.[0] ?? 0;
}

function lineText(text: string, line: number): string {
  return (text.split(/\r?\n/)[line - 1] ?? '').replace(/\t/g, ' ');
}

function makeDiag(text: string, file: string, lc: LineCounter, offset: number, message: string): Diagnostic {
  const { line, col } = lc.linePos(Math.min(offset, text.length));
  return { file, line, col, message, snippet: lineText(text, line) };
}

function pathLabel(path: readonly PathKey[]): string {
  return path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '');
}

function issueMessage(issue: z.core.$ZodIssue): string {
  const where = pathLabel(issue.path);
  const prefix = where ? `${where}: ` : '';
  if (issue.code === 'unrecognized_keys') return `${prefix}unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `\`${k}\``).join(', ')}`;
  if (issue.code === 'invalid_type' && issue.path.length === 0) {
    return issue.message.includes('received null') || issue.message.includes('received undefined')
      ? 'empty document: expected a mapping starting with `version: 1`'
      : `the document must be a mapping (${issue.message})`;
  }
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) {
    return `${prefix}missing required key`;
  }
  return `${prefix}${issue.message}`;
}

/** Which kind of object a path names, for OpenShell keys that are known but not supported. */
function objectKind(path: readonly PathKey[]): keyof typeof UNSUPPORTED_KEYS | null {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  if (typeof last === 'number' && parent === 'endpoints') return 'endpoint';
  if (typeof last === 'number' && parent === 'binaries') return 'binary';
  if (last === 'allow' || (typeof last === 'number' && parent === 'deny_rules')) return 'rule';
  return null;
}

function unknownKeyMessage(path: readonly PathKey[], key: string): string {
  const kind = objectKind(path);
  const why = kind ? UNSUPPORTED_KEYS[kind][key] : undefined;
  return `${pathLabel([...path, key])}: ${why ? `\`${key}\` ${why}` : `unknown key \`${key}\``}`;
}

// The last text parsed and its document: `policy validate` and `explain` ask a file's kind
// (documentKind) and then validate it, and the first parse, which runs the yaml package's code
// cold, costs milliseconds of their start-up (issue 23). Read-only once made; one text is kept.
let lastParse: { text: string; lc: LineCounter; doc: Document } | undefined;

function parseYaml(text: string): { lc: LineCounter; doc: Document } {
  if (lastParse?.text !== text) {
    const lc = new LineCounter();
    // logLevel 'error': a collection used as a key (`? [a, b]`) is reported by the schema as an
    // unknown key at its line; yaml's own warning would come on top, as a Node process warning
    // once per conversion (documentKind and the loader each convert), without a position.
    lastParse = { text, lc, doc: parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, strict: true, version: '1.2', logLevel: 'error' }) };
  }
  return lastParse;
}

/**
 * What a YAML file holds, by its top-level keys: a preset has `preset:`, a blueprint `agent:`;
 * anything else, unparseable text included, is read as a policy, whose loader then reports the
 * syntax error with its position.
 */
export function documentKind(text: string): 'policy' | 'preset' | 'blueprint' {
  try {
    const data: unknown = parseYaml(text).doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    if (data && typeof data === 'object' && !Array.isArray(data)) {
      if ('preset' in data) return 'preset';
      if ('agent' in data) return 'blueprint';
    }
  } catch {
    // Not convertible (an alias bomb): the policy loader reports it.
  }
  return 'policy';
}

/** Parses YAML text and validates it against a schema; throws PolicyError with positions. */
export function parseWithSchema<T>(text: string, file: string, schema: z.core.$ZodType<T>): T {
  if (typeof text !== 'string') throw new PolicyError([{ file, line: 1, col: 1, message: 'not text', snippet: '' }]);
  if (text.length > MAX_BYTES) throw new PolicyError([{ file, line: 1, col: 1, message: `file larger than ${MAX_BYTES} bytes`, snippet: '' }]);
  const { lc, doc } = parseYaml(text);
  const syntax = [...doc.errors];
  if (syntax.length > 0) {
    throw new PolicyError(syntax.map((e) => makeDiag(text, file, lc, e.pos[0], e.message.split('\n')[0] ?? e.message)));
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw new PolicyError([makeDiag(text, file, lc, 0, err instanceof Error ? err.message : String(err))], { cause: err });
  }
  const res = z.safeParse(schema, data);
  if (res.success) return res.data;
  const diags = res.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      // One diagnostic per unknown key, each pointing at the key itself.
      return issue.keys.map((k) => {
        const { node } = nodeAt(doc, [...issue.path, k], true);
        return makeDiag(text, file, lc, offsetOf(node), unknownKeyMessage(issue.path, k));
      });
    }
    if (issue.code === 'invalid_key') {
      // A bad map key (e.g. a rule name): point at the key and say what is wrong with it.
      const { node } = nodeAt(doc, issue.path, true);
      const why = issue.issues.map((i) => i.message).join('; ') || issue.message;
      return [makeDiag(text, file, lc, offsetOf(node), `${pathLabel(issue.path)}: ${why}`)];
    }
    const { node, exact } = nodeAt(doc, issue.path, false);
    let msg = issueMessage(issue);
    if (!exact && issue.path.length > 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_value')) msg = `${pathLabel(issue.path)}: missing required key`;
    // An issue about two places (conflicting endpoints) names the other one's position too.
    const params = issue.code === 'custom' ? (issue.params as { related?: PathKey[]; relatedDepth?: number } | undefined) : undefined;
    if (params?.related && params.relatedDepth !== undefined) {
      const other = [...issue.path.slice(0, issue.path.length - params.relatedDepth), ...params.related];
      const at = makeDiag(text, file, lc, offsetOf(nodeAt(doc, other, false).node), '');
      const label = pathLabel(other.slice(0, -1));
      msg = msg.replace(`conflicts with network_policies.${pathLabel(params.related.slice(0, -1))}`, `conflicts with ${label} (${file}:${at.line}:${at.col})`);
    }
    return [makeDiag(text, file, lc, offsetOf(node), msg)];
  });
  // Stable order: by position, then message.
  diags.sort((a, b) => a.line - b.line || a.col - b.col || a.message.localeCompare(b.message));
  throw new PolicyError(diags);
}

export function parsePolicy(text: string, file: string): Policy {
  return parseWithSchema(text, file, policySchemas().policySchema);
}

export function parsePreset(text: string, file: string): Preset {
  return parseWithSchema(text, file, policySchemas().presetSchema);
}

export async function readPolicyText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new PolicyError([{ file: path, line: 1, col: 1, message: `cannot read file (${code})`, snippet: '' }], { cause: err });
  }
}

export async function loadPolicyFile(path: string): Promise<Policy> {
  return parsePolicy(await readPolicyText(path), path);
}

/** A diagnostic at the node a data path names in YAML text (for checks made after the schema,
 *  such as a blueprint naming a preset that does not exist). */
export function diagnosticAt(text: string, file: string, path: readonly (string | number)[], message: string): Diagnostic {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false });
  const { node } = nodeAt(doc, path, false);
  return makeDiag(text, file, lc, offsetOf(node), `${pathLabel(path)}: ${message}`);
}
