import { enter } from './fake.mjs';
export class PutRecordBatchCommand { constructor(input) { this.input = input; } }
export class FirehoseClient {
  constructor(config = {}) { this.config = config; }
  async send(command, opts) {
    const s = await enter('firehose', this.config.region, command.input, opts);
    const { DeliveryStreamName, Records } = command.input;
    if (Records.length > 500) throw Object.assign(new Error('too many records'), { name: 'ValidationException' });
    for (const r of Records) s.firehose.push({ stream: DeliveryStreamName, data: new TextDecoder().decode(r.Data) });
    return { FailedPutCount: 0, RequestResponses: Records.map(() => ({ RecordId: 'fake' })), $metadata: { httpStatusCode: 200 } };
  }
}
