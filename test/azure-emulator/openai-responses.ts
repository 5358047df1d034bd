// OpenAI-shaped success bodies: a deterministic chat completion, embeddings
// and the model list, with usage counted by a rough tokenizer (about one
// token per word or punctuation mark), so tests can see tokens being spent.
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Deployment } from './world.ts';

export function countTokens(text: string): number {
  return text.match(/[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu)?.length ?? 0;
}

const chatRequestSchema = z.looseObject({
  messages: z.array(z.looseObject({ role: z.string(), content: z.unknown().optional() })),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type Parsed<T> = { ok: true; request: T } | { ok: false; problem: string };

// Validates like the service: the first problem found is the message.
export function parseChatRequest(body: unknown): Parsed<ChatRequest> {
  if (typeof body !== 'object' || body === null || !('messages' in body)) {
    return { ok: false, problem: "'messages' is a required property" };
  }
  if (Array.isArray(body.messages) && body.messages.length === 0) {
    return { ok: false, problem: "[] is too short - 'messages'" };
  }
  const parsed = chatRequestSchema.safeParse(body);
  return parsed.success
    ? { ok: true, request: parsed.data }
    : { ok: false, problem: "Invalid value for 'messages'." };
}

export function chatPromptTokens(request: ChatRequest): number {
  // 3 tokens of framing per message and 3 to prime the reply, as OpenAI counts.
  return request.messages.reduce((sum, m) => sum + 3 + countTokens(contentText(m.content)), 3);
}

export function chatCompletion(deployment: Deployment, request: ChatRequest) {
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user');
  const words =
    `Hello from the Azure OpenAI emulator, deployment ${deployment.name}. You said: ${contentText(lastUser?.content)}`
      .split(/\s+/)
      .filter((w) => w.length > 0);
  const limit = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  const reply: string[] = [];
  for (const word of words) {
    if (limit !== undefined && countTokens([...reply, word].join(' ')) > limit) break;
    reply.push(word);
  }
  const truncated = reply.length < words.length;
  const content = reply.join(' ');
  const promptTokens = chatPromptTokens(request);
  const completionTokens = countTokens(content);
  return {
    id: `chatcmpl-${randomUUID().replaceAll('-', '')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: modelId(deployment),
    system_fingerprint: 'fp_emulator',
    prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }],
    choices: [
      {
        index: 0,
        finish_reason: truncated ? 'length' : 'stop',
        logprobs: null,
        message: { role: 'assistant', content, refusal: null },
        content_filter_results: {},
      },
    ],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

const embeddingsRequestSchema = z.looseObject({
  input: z.union([
    z.string().min(1),
    z.array(z.string().min(1)).min(1),
    z.array(z.number().int()).min(1),
    z.array(z.array(z.number().int()).min(1)).min(1),
  ]),
  dimensions: z.number().int().positive().optional(),
  encoding_format: z.enum(['float', 'base64']).optional(),
});
export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;

export function parseEmbeddingsRequest(body: unknown): Parsed<EmbeddingsRequest> {
  const parsed = embeddingsRequestSchema.safeParse(body);
  return parsed.success
    ? { ok: true, request: parsed.data }
    : {
        ok: false,
        problem:
          "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
      };
}

export function embeddingsInputs(request: EmbeddingsRequest): string[] {
  const input = request.input;
  if (typeof input === 'string') return [input];
  if (input.every((item) => typeof item === 'number')) return [input.join(' ')];
  return input.map((item) => (typeof item === 'string' ? item : item.join(' ')));
}

export function embeddings(deployment: Deployment, request: EmbeddingsRequest) {
  const inputs = embeddingsInputs(request);
  const dimensions = request.dimensions ?? (deployment.model.name.includes('large') ? 3072 : 1536);
  const promptTokens = inputs.reduce((sum, text) => sum + countTokens(text), 0);
  return {
    object: 'list',
    model: deployment.model.name,
    data: inputs.map((text, index) => {
      const vector = embeddingVector(text, dimensions);
      return {
        object: 'embedding',
        index,
        embedding:
          request.encoding_format === 'base64'
            ? Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64')
            : Array.from(vector),
      };
    }),
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

// Same text, same unit vector: stable across runs so tests can compare.
function embeddingVector(text: string, dimensions: number): Float32Array {
  const vector = new Float32Array(dimensions);
  let block = createHash('sha256').update(text).digest();
  for (let i = 0; i < dimensions; i++) {
    if (i % 32 === 0 && i > 0) block = createHash('sha256').update(block).digest();
    vector[i] = ((block[i % 32] ?? 0) - 127.5) / 127.5;
  }
  const norm = Math.hypot(...vector);
  return vector.map((v) => v / norm);
}

export function modelsList(deployments: Deployment[]) {
  const catalogue: Pick<Deployment, 'model' | 'capability'>[] = [
    { model: { format: 'OpenAI', name: 'gpt-4o', version: '2024-08-06' }, capability: 'chat' },
    { model: { format: 'OpenAI', name: 'gpt-4o-mini', version: '2024-07-18' }, capability: 'chat' },
    {
      model: { format: 'OpenAI', name: 'text-embedding-3-small', version: '1' },
      capability: 'embeddings',
    },
    ...deployments,
  ];
  const byId = new Map(catalogue.map((m) => [modelId(m), m]));
  return {
    object: 'list',
    data: [...byId.entries()].map(([id, m]) => ({
      id,
      object: 'model',
      status: 'succeeded',
      created_at: 1722902400,
      lifecycle_status: 'generally-available',
      capabilities: {
        fine_tune: false,
        inference: true,
        completion: false,
        chat_completion: m.capability === 'chat',
        embeddings: m.capability === 'embeddings',
      },
      deprecation: { inference: 1861920000 },
    })),
  };
}

function modelId(m: Pick<Deployment, 'model'>): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(m.model.version)
    ? `${m.model.name}-${m.model.version}`
    : m.model.name;
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) =>
        typeof part === 'object' && part !== null && 'text' in part ? String(part.text) : '',
      )
      .join(' ');
  }
  return '';
}
