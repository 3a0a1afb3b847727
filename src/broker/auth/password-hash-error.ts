/** An encoded password hash that cannot be decoded. The message says why, without the hash itself. */
export class PasswordHashFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
