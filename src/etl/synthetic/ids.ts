/** Sequential ids with a prefix and zero padding: `O00000042`. Padding grows past the width. */
export class Sequence {
  private n = 0;
  private readonly prefix: string;
  private readonly width: number;

  constructor(prefix: string, width: number) {
    this.prefix = prefix;
    this.width = width;
  }

  next(): string {
    this.n++;
    return `${this.prefix}${String(this.n).padStart(this.width, '0')}`;
  }

  get count(): number {
    return this.n;
  }
}

/** Every id sequence of one generation run. */
export class Ids {
  readonly customer = new Sequence('C', 7);
  readonly contact = new Sequence('CT', 7);
  readonly order = new Sequence('O', 8);
  readonly payment = new Sequence('PAY', 8);
  readonly touch = new Sequence('T', 8);
  readonly ticket = new Sequence('TK', 7);
  readonly lead = new Sequence('L', 7);
  readonly opportunity = new Sequence('OP', 7);
  readonly interaction = new Sequence('I', 8);
}
