// Types for leader.mjs.
export interface Leader {
  pid: number;
  /** Field 22 of /proc/<pid>/stat when it was remembered; undefined without /proc. */
  started: string | undefined;
}
export function startTime(pid: number): string | undefined;
export function leaderOf(pid: number): Leader;
export function isSameLeader(leader: Leader): boolean;
export function signalGroup(leader: Leader, signal: NodeJS.Signals | 0): boolean;
export function killLeftovers(leader: Leader): void;
