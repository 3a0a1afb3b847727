// The part of the optional `i2c-bus` package that i2c-bus-backend.ts uses; the package ships no type declarations.
declare module 'i2c-bus' {
  export interface PromisifiedBus {
    readByte(address: number, command: number): Promise<number>;
    writeByte(address: number, command: number, byte: number): Promise<void>;
    readI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }>;
    writeI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }>;
    i2cRead(address: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }>;
    i2cWrite(address: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }>;
    scan(): Promise<number[]>;
    close(): Promise<void>;
  }
  export function openPromisified(busNumber: number, options?: { forceAccess?: boolean }): Promise<PromisifiedBus>;
  const i2c: { openPromisified: typeof openPromisified };
  export default i2c;
}
