/**
 * Labels of the Raspberry Pi SoC pin controllers whose line offsets equal BCM numbers, most specific first.
 * Other chips on a Pi (`raspberrypi-exp-gpio` on the 3B+/4, `gpio-brcmstb@...` on the 5) carry LEDs and power
 * rails, never header pins, and must not be picked.
 */
const PI_PIN_CONTROLLER_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'] as const;

export type PiPinControllerLabel = (typeof PI_PIN_CONTROLLER_LABELS)[number];

/** The best Pi pin controller among `items`, by label priority, or undefined. */
export function pickPiPinController<T extends { label: string }>(items: readonly T[]): T | undefined {
  for (const label of PI_PIN_CONTROLLER_LABELS) {
    const found = items.find((item) => item.label === label);
    if (found) return found;
  }
  return undefined;
}

export function lineName(bcm: number): string {
  return `gpio${bcm}`;
}
