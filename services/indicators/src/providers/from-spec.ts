import type { ProviderSpec } from '@dolphin/core';
import { httpBookProvider, httpNumberProvider, resolveHttpPreset } from './http.ts';
import type { OrderBook, Provider } from './provider.ts';
import { replayBooks, replayNumber } from './replay.ts';
import { syntheticBooks, syntheticNumber, type SyntheticFactor } from './synthetic.ts';

/** The provider of one factor as its config says (config section `indicators.<factor>.provider`). */
export function numberProvider(factor: SyntheticFactor, spec: ProviderSpec): Provider<number> {
  switch (spec.kind) {
    case 'synthetic':
      return syntheticNumber(factor, spec.seed);
    case 'replay':
      return replayNumber(spec.file, `replay ${factor}`);
    case 'http': {
      const preset = spec.preset === undefined ? undefined : resolveHttpPreset(spec.preset);
      if (preset && preset.kind !== 'number') throw new Error(`indicators.${factor}.provider: preset "${spec.preset}" gives order books, not a number`);
      const url = spec.url ?? preset?.url;
      const path = spec.path ?? (preset?.kind === 'number' ? preset.path : undefined);
      if (!url || !path) throw new Error(`indicators.${factor}.provider: give a preset, or both url and path`);
      const scale = spec.scale ?? (preset?.kind === 'number' ? preset.scale : undefined);
      return httpNumberProvider({ name: `http ${spec.preset ?? factor}`, url, path, ...(scale !== undefined ? { scale } : {}) });
    }
  }
}

/** Order-book providers per symbol (config section `indicators.ob.provider`). */
export function bookProviders(spec: ProviderSpec): (symbol: string) => Provider<OrderBook> {
  switch (spec.kind) {
    case 'synthetic':
      return syntheticBooks(spec.seed);
    case 'replay':
      return replayBooks(spec.file);
    case 'http': {
      const preset = spec.preset === undefined ? undefined : resolveHttpPreset(spec.preset);
      if (preset && preset.kind !== 'book') throw new Error(`indicators.ob.provider: preset "${spec.preset}" gives a number, not order books`);
      const url = spec.url ?? preset?.url;
      if (!url) throw new Error('indicators.ob.provider: give a preset, or a url with {symbol}');
      return httpBookProvider({ name: `http ${spec.preset ?? 'book'}`, url, bidsPath: preset?.kind === 'book' ? preset.bidsPath : 'bids', asksPath: preset?.kind === 'book' ? preset.asksPath : 'asks' });
    }
  }
}
