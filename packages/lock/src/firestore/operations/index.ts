export { acquire } from "./acquire.js";
export { extend } from "./extend.js";
export { isLocked } from "./is-locked.js";
export { lookup } from "./lookup.js";
export { release } from "./release.js";
