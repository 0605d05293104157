declare module "asciichart" {
  interface PlotConfig {
    height?: number;
    min?: number;
    max?: number;
    offset?: number;
    padding?: string;
    colors?: string[];
    symbols?: string[];
    format?: (x: number, i: number) => string;
  }
  const asciichart: { plot(series: number[] | number[][], cfg?: PlotConfig): string };
  export default asciichart;
}
