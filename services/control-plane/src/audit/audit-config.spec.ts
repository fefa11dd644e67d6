import { loadConfig } from '../config/config';

const base = {
  CAUSEWAY_DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
  CAUSEWAY_AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
  CAUSEWAY_ADMIN_TOKEN: 'x'.repeat(40),
};

describe('audit seal schedule configuration', () => {
  it('defaults to twice a day, UTC', () => {
    expect(loadConfig(base).audit.sealTimes).toEqual([0, 720]);
  });

  it('reads a list of times', () => {
    const config = loadConfig({ ...base, CAUSEWAY_AUDIT_SEAL_TIMES: '18:30,06:00' });
    expect(config.audit.sealTimes).toEqual([360, 1110]);
  });

  it.each(['25:00', '12', '06:00,', 'noon'])('refuses %p naming the variable', (value) => {
    expect(() => loadConfig({ ...base, CAUSEWAY_AUDIT_SEAL_TIMES: value })).toThrow(
      /CAUSEWAY_AUDIT_SEAL_TIMES/,
    );
  });
});
