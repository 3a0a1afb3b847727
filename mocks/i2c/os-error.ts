/** The errors the Linux i2c-dev driver reports, shaped like Node's errno errors. */
const MESSAGES: Record<string, { errno: number; message: string }> = {
  EREMOTEIO: { errno: -121, message: 'Remote I/O error' },
  EIO: { errno: -5, message: 'Input/output error' },
  ETIMEDOUT: { errno: -110, message: 'Connection timed out' },
  ENOENT: { errno: -2, message: 'No such file or directory' },
};

export function osError(code: keyof typeof MESSAGES | string, syscall = 'ioctl'): NodeJS.ErrnoException {
  const known = MESSAGES[code] ?? { errno: -1, message: code };
  const error: NodeJS.ErrnoException = new Error(`${code}: ${known.message}, ${syscall}`);
  error.code = code;
  error.errno = known.errno;
  error.syscall = syscall;
  return error;
}
