// The supervisor-backed TuiDataSource (no React/Ink; `nemoclaw tui` and the bench use it).
export { SupervisorDataSource, approvalFromItem, flattenEnforcement, summarisePolicy, type SupervisorApi, type SupervisorSourceOptions } from './supervisor-source.ts';
