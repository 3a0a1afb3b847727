/**
 * The integer in [lo, hi] whose f-value is closest to target, for f monotonic (either direction) — how emulators turn
 * a physical value into the raw ADC count that the real compensation formula maps back to it.
 */
export function invertMonotonic(f: (x: number) => number, target: number, lo: number, hi: number): number {
  const increasing = f(hi) >= f(lo);
  let a = lo;
  let b = hi;
  while (b - a > 1) {
    const mid = Math.floor((a + b) / 2);
    if (f(mid) < target === increasing) a = mid;
    else b = mid;
  }
  return Math.abs(f(a) - target) <= Math.abs(f(b) - target) ? a : b;
}
