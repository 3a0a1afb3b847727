import type { GpioController, Sensor } from '../drivers/types.js';
import type { SensorSection } from './config/devices-schema.js';

/** What the gateway needs from hardware, real or simulated. */
export interface GatewayHardware {
  /** `real` or `simulated`, for logs and the status message. */
  readonly kind: 'real' | 'simulated';
  /** The board, e.g. "Raspberry Pi 4 Model B Rev 1.5", or "simulated". */
  readonly model: string;
  readonly gpio: GpioController;
  openSensor(spec: SensorSection): Promise<Sensor>;
  close(): Promise<void>;
}
