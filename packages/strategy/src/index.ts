export { strategyParams, strategyParamsSchema, type StrategyParams } from './params.ts';
export { initialState, unrealized, type StrategyState, type OpenPosition } from './state.ts';
export { decide, type Decision, type DecisionInputs, type Order, type OrderReason, type Skip } from './decide.ts';
export { fill, shortPnl, cents, type Fill } from './broker.ts';
