import { z } from 'zod';
import { ConfigError, parseEnv } from './env';

const spec = {
  PORT: {
    schema: z.coerce.number().int().min(1).max(65535),
    expects: 'a TCP port',
    default: '8080',
  },
  TOKEN: {
    schema: z.string().min(8),
    expects: 'a token of at least 8 characters',
    sensitive: true,
  },
};

describe('parseEnv', () => {
  it('applies defaults and coerces values', () => {
    expect(parseEnv(spec, { TOKEN: '12345678' })).toEqual({ PORT: 8080, TOKEN: '12345678' });
  });

  it('names a missing variable and what it expects', () => {
    expect(() => parseEnv(spec, {})).toThrow(
      new ConfigError(
        'Invalid configuration: TOKEN is not set; it expects a token of at least 8 characters.',
      ),
    );
  });

  it('echoes a bad plain value but never a bad secret', () => {
    expect(() => parseEnv(spec, { TOKEN: '12345678', PORT: 'http' })).toThrow(
      'PORT is invalid (got "http")',
    );
    let message = '';
    try {
      parseEnv(spec, { TOKEN: 'short' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('TOKEN is invalid;');
    expect(message).not.toContain('short');
  });
});
