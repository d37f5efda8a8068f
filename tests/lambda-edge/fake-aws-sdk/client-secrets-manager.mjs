import { enter } from './fake.mjs';
export class GetSecretValueCommand { constructor(input) { this.input = input; } }
export class SecretsManagerClient {
  constructor(config = {}) { this.config = config; }
  async send(command, opts) {
    const s = await enter('secretsmanager', this.config.region, command.input, opts);
    const v = s.secrets[command.input.SecretId];
    if (v === undefined) throw Object.assign(new Error("Secrets Manager can't find the specified secret."), { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } });
    return { SecretString: v, $metadata: { httpStatusCode: 200 } };
  }
}
