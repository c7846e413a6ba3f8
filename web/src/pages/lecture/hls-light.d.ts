// hls.js ships the light build's code without its own declaration: it is the same API as the full build.
declare module "hls.js/light" {
  export * from "hls.js";
  export { default } from "hls.js";
}
