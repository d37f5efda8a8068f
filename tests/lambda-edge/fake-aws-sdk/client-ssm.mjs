import { enter } from './fake.mjs';
export class GetParametersCommand { constructor(input) { this.input = input; } }
export class SSMClient {
  constructor(config = {}) { this.config = config; }
  async send(command, opts) {
    const s = await enter('ssm', this.config.region, command.input, opts);
    const Parameters = [], InvalidParameters = [];
    for (const Name of command.input.Names) {
      if (!(Name in s.ssm)) { InvalidParameters.push(Name); continue; }
      // a SecureString read without WithDecryption is the ciphertext
      Parameters.push({ Name, Type: 'SecureString', Value: command.input.WithDecryption ? s.ssm[Name] : `AQICAH-ciphertext-of-${Name}` });
    }
    return { Parameters, InvalidParameters, $metadata: { httpStatusCode: 200 } };
  }
}
