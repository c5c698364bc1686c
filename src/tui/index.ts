// The TUI's only public door. `runTui` is what the future `nemoclaw tui` verb calls with the
// supervisor's client as the TuiDataSource. Importing this module loads Ink and React; backend
// code that only needs the event types imports './store/index.ts' (no React) instead.
import './production.ts'; // must stay first: selects React's production build (see the file)
export { runTui, startTui, exitCodeFor, RESTORE_SEQUENCE, type RunTuiOptions, type TuiExit, type TuiHandle, type TelemetryOptions, type TuiPreferences } from './run.ts';
export * from './store/index.ts';
// The supervisor-backed data source (`nemoclaw tui` builds one on the supervisor's client).
export { SupervisorDataSource, type SupervisorApi, type SupervisorSourceOptions } from './source/index.ts';
export { LAYOUT_NAMES, type LayoutName } from './layout/layout.ts';
export { loadThemes, chooseThemeName, DEFAULT_THEME, type Theme } from './theme/theme.ts';
