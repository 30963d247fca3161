/** Collects rows that could not be used, reporting each by line number (the first few in full). */
export class BadRows {
  count = 0;
  readonly shown: string[] = [];

  constructor(
    private readonly file: string,
    private readonly limit: number,
    private readonly showAtMost = 20,
  ) {}

  add(line: number, problem: string): void {
    this.count++;
    if (this.shown.length < this.showAtMost) this.shown.push(`${this.file} line ${line}: ${problem}`);
    if (this.count > this.limit) {
      throw new Error(`${this.file}: more than ${this.limit} bad rows (the last on line ${line}: ${problem}); fix the file or raise --max-bad-rows`);
    }
  }

  summary(): string[] {
    if (this.count === 0) return [];
    const more = this.count - this.shown.length;
    return [...this.shown, ...(more > 0 ? [`... and ${more} more bad rows in ${this.file}`] : []), `${this.file}: skipped ${this.count} bad rows`];
  }
}
