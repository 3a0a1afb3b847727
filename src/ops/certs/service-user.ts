/** The primary group of a system user, for keys the service running as that user must read. */
import { execFile } from 'node:child_process';

export class ServiceUserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceUserError';
  }
}

/**
 * `id -g USER`: Node has no getpwnam, and `id` also sees users that are not in /etc/passwd (LDAP, systemd's
 * DynamicUser= is not one: it has no user until the service runs).
 */
export function primaryGroupOf(user: string): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('id', ['-g', '--', user], { timeout: 10_000 }, (error, stdout, stderr) => {
      const gid = Number(stdout.trim());
      if (!error && Number.isInteger(gid) && stdout.trim() !== '') resolve(gid);
      else reject(new ServiceUserError(`--owner ${user}: no such user (${(stderr || error?.message || 'id gave no group').trim()}); create it first, e.g. sudo useradd --system ${user}`));
    });
  });
}
