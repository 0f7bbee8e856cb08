import { HipaaConfigError } from "../errors";

const DAYS_PER_YEAR = 365;
const SECONDS_PER_DAY = 86_400;

/**
 * A retention period, kept in whole days.
 *
 * 45 CFR 164.316(b)(2)(i) requires documentation to be retained for six years. Six years is
 * counted as 6 x 365 = 2190 days, the figure the seeds, S3 (`days = 2190`) and GCS
 * (189,216,000 s) use.
 */
export class RetentionPeriod {
  /** The HIPAA documentation retention: six years. */
  public static readonly HIPAA_MINIMUM = RetentionPeriod.years(6);

  public static days(days: number): RetentionPeriod {
    return new RetentionPeriod(days, `${days} days`);
  }

  public static years(years: number): RetentionPeriod {
    if (!Number.isInteger(years) || years < 1) {
      throw new HipaaConfigError({
        path: "RetentionPeriod.years",
        problem: `${years} is not a positive whole number of years`,
        fix: "pass a whole number of years, e.g. RetentionPeriod.years(6)",
      });
    }
    return new RetentionPeriod(years * DAYS_PER_YEAR, `${years} years`);
  }

  private constructor(public readonly totalDays: number, private readonly label: string) {
    if (!Number.isInteger(totalDays) || totalDays < 1) {
      throw new HipaaConfigError({
        path: "RetentionPeriod.days",
        problem: `${totalDays} is not a positive whole number of days`,
        fix: "pass a whole number of days, e.g. RetentionPeriod.days(2190)",
      });
    }
  }

  public toDays(): number {
    return this.totalDays;
  }

  public toSeconds(): number {
    return this.totalDays * SECONDS_PER_DAY;
  }

  /** Whole years contained in the period (2190 days -> 6). */
  public toWholeYears(): number {
    return Math.floor(this.totalDays / DAYS_PER_YEAR);
  }

  public isShorterThan(other: RetentionPeriod): boolean {
    return this.totalDays < other.totalDays;
  }

  public toString(): string {
    return this.label === `${this.totalDays} days` ? this.label : `${this.label} (${this.totalDays} days)`;
  }
}
