import { enter } from './fake.mjs';
export class GetObjectCommand { constructor(input) { this.input = input; } }
export class S3Client {
  constructor(config = {}) { this.config = config; }
  async send(command, opts) {
    const s = await enter('s3', this.config.region, command.input, opts);
    const { Bucket, Key, IfNoneMatch } = command.input;
    const o = s.s3[`${Bucket}/${Key}`];
    if (!o) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    if (IfNoneMatch && IfNoneMatch === o.etag) throw Object.assign(new Error('Not Modified'), { name: '304', $metadata: { httpStatusCode: 304 } });
    const bytes = o.body.slice();
    return { ETag: o.etag, ContentLength: bytes.length, Body: { transformToByteArray: async () => bytes }, $metadata: { httpStatusCode: 200 } };
  }
}
