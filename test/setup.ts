import "../node/polyfill.js";
