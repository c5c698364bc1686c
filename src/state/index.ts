// The state component's only public door: everything nemoclaw keeps on disk goes through here.
// Where the state directory is (home.ts), its layout and the sandbox-name rule (layout.ts),
// durable atomic writes (atomic.ts), lock files and the process checks behind them (lock.ts,
// proc.ts), and the shell quoting of text an operator pastes (quote.ts). No other component is
// imported: every other one may use this.
export { nemoclawHome, HomeError } from './home.ts';
export { homePaths, sandboxPaths, validName, NAME_RE, NAME_RULE, RESERVED_NAMES } from './layout.ts';
export type { HomePaths, SandboxPaths } from './layout.ts';
export { writeFileAtomic, writeFileAtomicAsync, stageFileAsync, stageTogether, commitStaged, discardStaged, writeJsonAtomic, createFileExclusive, fsyncDir, ensurePrivateDirs, tempPath, removeDeadTemps } from './atomic.ts';
export type { StagedFile } from './atomic.ts';
export { tryLock, releaseLock, readLockHolder, holderAlive, ownHolder } from './lock.ts';
export type { LockHolder, LockAttempt } from './lock.ts';
export { pidAlive, processStartTime } from './proc.ts';
export { shellWord, shellWords } from './quote.ts';
