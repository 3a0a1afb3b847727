/**
 * Puts a file openssl wrote in a private staging directory into its final place with its final mode and group,
 * atomically (rename), so a half-written key is never visible and a key is never readable by others, not even for a
 * moment between write and chmod.
 */
import { chmod, chown, rename } from 'node:fs/promises';

export interface Placement {
  mode: number;
  /** Group to give the file (root only): how the service user reads a key it does not own. */
  gid?: number;
}

export async function placeFile(staged: string, target: string, placement: Placement): Promise<void> {
  await chmod(staged, placement.mode);
  if (placement.gid !== undefined) await chown(staged, process.getuid?.() ?? 0, placement.gid);
  await rename(staged, target);
}

/** Private keys: the owner only, or the owner and one group when a service user must read them. */
export const keyPlacement = (gid: number | undefined): Placement => (gid === undefined ? { mode: 0o600 } : { mode: 0o640, gid });
/** Certificates are public. */
export const CERT_PLACEMENT: Placement = { mode: 0o644 };
