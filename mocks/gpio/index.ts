export { createSimulatedGpio } from './simulated-gpio.js';
export type { OutputChange, SimulatedFault, SimulatedGpio, SimulatedGpioOptions, SimulatedOperation } from './simulated-gpio.js';
