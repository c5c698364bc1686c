// STAND-IN for NIM and vLLM, which need a GPU: a loopback OpenAI-compatible server baked into the
// test image (test/helpers/docker.ts). No model runs; it answers /v1/chat/completions with an echo
// of the last message, serves both engines' readiness paths, checks the --api-key the router holds
// (as vLLM does), and can be told to become ready late or to crash during startup, so the tests can
// drive every startup outcome of `nemoclaw models start` (docs/models.md).
import { createServer } from 'node:http';

const args = process.argv.slice(2);
const arg = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const port = Number(arg('--port') ?? process.env.NIM_SERVER_PORT ?? process.env.PORT ?? 8000);
const model = arg('--model') ?? arg('--served-model-name') ?? process.env.NIM_MODEL_NAME ?? 'stand-in-model';
const apiKey = arg('--api-key') ?? null;
const readyAt = Date.now() + Number(process.env.STANDIN_READY_DELAY_MS ?? 0);

console.log(`stand-in model server (not NIM, not vLLM): model ${model} on port ${port}`);
console.log(`argv ${JSON.stringify(args)}`);
if (process.env.STANDIN_CRASH !== undefined) {
  console.log('stand-in: loading weights');
  console.error('stand-in: CUDA out of memory (simulated crash)');
  process.exit(Number(process.env.STANDIN_CRASH));
}

const json = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const url = req.url ?? '/';
    console.log(`${req.method} ${url}`);
    const ready = Date.now() >= readyAt;
    if (url === '/health' || url === '/v1/health/ready') return json(res, ready ? 200 : 503, { ready });
    if (url.startsWith('/v1/') && apiKey !== null && req.headers.authorization !== `Bearer ${apiKey}`) {
      return json(res, 401, { error: { message: 'missing or wrong api key', type: 'unauthorized' } });
    }
    if (!ready) return json(res, 503, { error: { message: 'loading', type: 'not_ready' } });
    if (url === '/v1/models') return json(res, 200, { object: 'list', data: [{ id: model, object: 'model', owned_by: 'stand-in' }] });
    if (url === '/v1/chat/completions' && req.method === 'POST') {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return json(res, 400, { error: { message: 'not JSON', type: 'invalid_json' } });
      }
      const msgs = Array.isArray(body.messages) ? body.messages : [];
      const last = msgs.length > 0 ? String(msgs[msgs.length - 1].content ?? '') : '';
      return json(res, 200, {
        id: 'chatcmpl-stand-in',
        object: 'chat.completion',
        created: 0,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: `stand-in echo: ${last}` }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      });
    }
    return json(res, 404, { error: { message: `no route ${url}`, type: 'not_found' } });
  });
}).listen(port, '0.0.0.0');
process.on('SIGTERM', () => process.exit(0));
