// The part of the optional `node-dht-sensor` package that node-dht-backend.ts uses; it ships no type declarations.
declare module 'node-dht-sensor' {
  export const promises: {
    read(type: 11 | 22, pin: number): Promise<{ temperature: number; humidity: number }>;
    setMaxRetries(retries: number): void;
  };
  const sensor: { promises: typeof promises };
  export default sensor;
}
