// @concil/pipeline: occystrap's sources, filters and sinks, each a target or a layer transform of
// @concil/image's one copy engine (see README.md).
export {};
