import { describe, expect, it } from 'vitest';
import { parseSystemctlShow } from './systemctl-show.ts';

describe('parseSystemctlShow', () => {
  it('one record per unit in order, values with = kept whole, missing blocks empty', () => {
    const text = 'Id=a.service\nActiveState=active\nEnvironment=A=1 B=2\n\nId=b.service\nActiveState=failed\n';
    expect(parseSystemctlShow(text, 3)).toEqual([
      { Id: 'a.service', ActiveState: 'active', Environment: 'A=1 B=2' },
      { Id: 'b.service', ActiveState: 'failed' },
      {},
    ]);
  });
});
