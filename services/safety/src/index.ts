export {
  acbSignals,
  sizeScaleFor,
  acbParamsSchema,
  acbMemorySchema,
  initialAcbMemory,
  ACB_CUTS_PCT,
  type AcbParams,
  type AcbMemory,
  type AcbResult,
} from './acb.ts';
export {
  evaluateSafety,
  safetyParams,
  safetyParamsSchema,
  safetyMemorySchema,
  type SafetyParams,
  type SafetyInputs,
  type SafetyMemory,
  type SafetyEvaluation,
} from './posture.ts';
