// The part of autocannon's API the bench uses (the package ships no types; one devDependency less).
declare module "autocannon" {
  interface Histogram {
    p50: number;
    p99: number;
    p99_9: number;
    max: number;
    [percentile: string]: number;
  }
  interface Result {
    "2xx": number;
    non2xx: number;
    errors: number;
    timeouts: number;
    duration: number;
    statusCodeStats: Record<string, { count: number }>;
    latency: Histogram;
  }
  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    /** Stop after this many requests instead of after `duration`. */
    amount?: number;
    sampleInt?: number;
    requests?: Array<{
      method?: string;
      path?: string;
      setupRequest?: (request: Record<string, unknown>) => Record<string, unknown>;
    }>;
  }
  export default function autocannon(options: Options): Promise<Result>;
}
