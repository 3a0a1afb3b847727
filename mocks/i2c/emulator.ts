import { FaultInjectable, type FaultTarget } from '../chips/faults.js';

/**
 * A chip on the virtual bus, at wire level: what the master writes after the address byte, and what it clocks in on
 * a read. SMBus calls are built from these (readByte = write [cmd] + read 1, with a repeated start). Throw
 * `osError('EREMOTEIO')` where the real chip would NACK.
 */
export interface I2cEmulator extends FaultTarget {
  readonly address: number;
  readonly name: string;
  write(data: Buffer): void;
  read(length: number): Buffer;
}

/** Fault plumbing common to every emulated chip; a reconnect is a power-on reset. */
export abstract class EmulatedI2cChip extends FaultInjectable implements I2cEmulator {
  abstract readonly name: string;

  constructor(readonly address: number) {
    super();
    this.faults.onReconnect(() => this.powerOn());
  }

  abstract write(data: Buffer): void;
  abstract read(length: number): Buffer;
  /** Back to the power-on state. */
  protected abstract powerOn(): void;
}
