/** The unified clock-skew tolerance of every liveness check, in milliseconds (lock spec, ADR-005). */
export const TIME_TOLERANCE_MS = 1000;
