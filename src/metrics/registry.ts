// The few Prometheus primitives the operator needs, in its text format. Label
// values come from fixed vocabularies (results, services, outcomes, reasons), so
// cardinality stays bounded and no name, message or secret can reach a label.

export type Labels = Record<string, string>;

export class CounterVec {
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  inc(labels: Labels, by = 1): void {
    const key = labelText(labels);
    const entry = this.#values.get(key);
    if (entry) entry.value += by;
    else this.#values.set(key, { labels, value: by });
  }

  get(labels: Labels): number {
    return this.#values.get(labelText(labels))?.value ?? 0;
  }

  get total(): number {
    let sum = 0;
    for (const { value } of this.#values.values()) sum += value;
    return sum;
  }

  samples(): Array<{ labels: Labels; value: number }> {
    return [...this.#values.values()];
  }
}

export class Histogram {
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.#counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    this.#sum += value;
    this.#count++;
    for (let i = 0; i < this.#bounds.length; i++)
      if (value <= (this.#bounds[i] as number)) (this.#counts[i] as number)++;
  }

  get count(): number {
    return this.#count;
  }

  render(name: string): string[] {
    return [
      ...this.#bounds.map((bound, i) => `${name}_bucket{le="${bound}"} ${this.#counts[i]}`),
      `${name}_bucket{le="+Inf"} ${this.#count}`,
      `${name}_sum ${round(this.#sum)}`,
      `${name}_count ${this.#count}`,
    ];
  }
}

export class Exposition {
  readonly #lines: string[] = [];

  scalar(name: string, type: 'counter' | 'gauge', help: string, value: number): this {
    this.#header(name, type, help).push(`${name} ${value}`);
    return this;
  }

  vector(
    name: string,
    type: 'counter' | 'gauge',
    help: string,
    samples: Array<{ labels: Labels; value: number }>,
  ): this {
    const lines = this.#header(name, type, help);
    for (const { labels, value } of samples) lines.push(`${name}{${labelText(labels)}} ${value}`);
    return this;
  }

  histogram(name: string, help: string, histogram: Histogram): this {
    this.#header(name, 'histogram', help).push(...histogram.render(name));
    return this;
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }

  #header(name: string, type: string, help: string): string[] {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this.#lines;
  }
}

function labelText(labels: Labels): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`)
    .join(',');
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
